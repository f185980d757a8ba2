package dsl

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// MaxFileSize is the largest flow file the compiler reads.
const MaxFileSize = 1 << 20

// maxNodes bounds how many YAML nodes one file may expand to, aliases
// included, so an alias bomb (a few lines that expand to billions of
// nodes) is refused before anything walks it.
const maxNodes = 100_000

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML turns source text into its document node, or reports why it
// can't: not UTF-8, malformed YAML, tabs, several documents.
func parseYAML(file string, src []byte, errs *ErrorList) *yaml.Node {
	if !utf8.Valid(src) {
		line, col := 1, 1
		for i := 0; i < len(src); {
			r, n := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			if r == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
			i += n
		}
		errs.Add(Pos{File: file, Line: line, Col: col}, "file is not valid UTF-8")
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			errs.Add(Pos{File: file, Line: 1, Col: 1}, "file is empty; a flow needs at least flow: and steps:")
			return nil
		}
		reportYAMLError(file, src, err, errs)
		return nil
	}
	if n := expandedSize(&doc, map[*yaml.Node]int{}, 0); n > maxNodes {
		errs.Add(Pos{File: file, Line: 1, Col: 1}, "file expands to more than %d YAML nodes through its aliases; refusing it (an alias bomb?)", maxNodes)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		errs.Add(Pos{File: file, Line: extra.Line, Col: extra.Column}, "a flow file holds one YAML document; found another after ---")
		return nil
	} else if !errors.Is(err, io.EOF) {
		reportYAMLError(file, src, err, errs)
		return nil
	}
	return &doc
}

// expandedSize counts the nodes of n with every alias expanded, memoised
// per node so the count costs one pass over the document; it stops early
// past maxNodes. An alias cycle counts as too large.
func expandedSize(n *yaml.Node, memo map[*yaml.Node]int, depth int) int {
	if n == nil {
		return 0
	}
	if v, ok := memo[n]; ok {
		return v
	}
	if depth > 1000 {
		return maxNodes + 1
	}
	memo[n] = maxNodes + 1 // seen while counting: a cycle
	size := 1
	if n.Kind == yaml.AliasNode {
		size += expandedSize(n.Alias, memo, depth+1)
	}
	for _, c := range n.Content {
		size += expandedSize(c, memo, depth+1)
		if size > maxNodes {
			break
		}
	}
	memo[n] = size
	return size
}

// reportYAMLError converts a yaml.v3 error ("yaml: line 3: ...") into a
// positioned error, naming a tab used for indentation when that is the
// cause.
func reportYAMLError(file string, src []byte, err error, errs *ErrorList) {
	for i, line := range bytes.Split(src, []byte("\n")) {
		indent := line[:len(line)-len(bytes.TrimLeft(line, " \t"))]
		if j := bytes.IndexByte(indent, '\t'); j >= 0 {
			errs.Add(Pos{File: file, Line: i + 1, Col: j + 1}, "tab character in indentation; YAML indents with spaces only")
			return
		}
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for _, e := range te.Errors {
			addYAMLLine(file, e, errs)
		}
		return
	}
	addYAMLLine(file, err.Error(), errs)
}

func addYAMLLine(file, msg string, errs *ErrorList) {
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		errs.Add(Pos{File: file, Line: line, Col: 1}, "invalid YAML: %s", m[2])
		return
	}
	errs.Add(Pos{File: file, Line: 1, Col: 1}, "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

// walker reads yaml.v3 nodes strictly, reporting every problem with its
// position and continuing.
type walker struct {
	file string
	errs *ErrorList
}

func (w *walker) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: w.file}
	}
	return Pos{File: w.file, Line: n.Line, Col: n.Column}
}

func (w *walker) errorf(n *yaml.Node, format string, args ...any) {
	w.errs.Add(w.pos(n), format, args...)
}

// resolve follows aliases to the node they name. parseYAML has already
// refused documents whose aliases expand too far.
func (w *walker) resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 100 {
			return nil
		}
		n = n.Alias
	}
	return n
}

// entry is one key/value pair of a mapping.
type entry struct {
	key, val *yaml.Node
	name     string
}

// entries returns the pairs of a mapping in order, reporting a non-mapping
// node, non-scalar keys, merge keys and duplicate keys.
func (w *walker) entries(n *yaml.Node, what string) []entry {
	n = w.resolve(n)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		if isNull(n) {
			return nil
		}
		w.errorf(n, "%s must be a mapping, not %s", what, describe(n))
		return nil
	}
	var out []entry
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := w.resolve(n.Content[i]), n.Content[i+1]
		if k == nil {
			return out
		}
		if k.Kind != yaml.ScalarNode {
			w.errorf(k, "%s keys must be plain text, not %s", what, describe(k))
			continue
		}
		if k.Tag == "!!merge" {
			w.errorf(k, "merge keys (<<) are not supported; repeat the keys or use a named prompt or schedule")
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			w.errorf(k, "duplicate key %q in %s (first at line %d)", k.Value, what, prev.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, entry{key: k, val: v, name: k.Value})
	}
	return out
}

// fields is entries for a mapping with a fixed set of keys: unknown keys
// are reported with the closest known key.
func (w *walker) fields(n *yaml.Node, what string, known []string) map[string]entry {
	out := map[string]entry{}
	for _, e := range w.entries(n, what) {
		if !contains(known, e.name) {
			w.errorf(e.key, "unknown key %q in %s%s", e.name, what, suggestOrList(e.name, known))
			continue
		}
		out[e.name] = e
	}
	return out
}

func suggestOrList(word string, known []string) string {
	if s := suggest(word, known); s != "" {
		return s
	}
	if len(known) <= 12 {
		return "; expected one of " + strings.Join(known, ", ")
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// describe names a node's type for error messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "empty"
		case "!!bool":
			return "a boolean"
		case "!!int":
			return "a number"
		case "!!float":
			return "a number"
		}
		return fmt.Sprintf("text %q", truncate(n.Value, 40))
	}
	return "a document"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// str reads a text scalar. Numbers and dates are accepted as their text:
// phone numbers and menu keys are often written unquoted.
func (w *walker) str(n *yaml.Node, what string) (string, bool) {
	n = w.resolve(n)
	if n == nil {
		return "", false
	}
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!str" || n.Tag == "!!int" || n.Tag == "!!float" || n.Tag == "!!timestamp") {
		return n.Value, true
	}
	w.errorf(n, "%s must be text, not %s", what, describe(n))
	return "", false
}

// scalar reads any non-null scalar as text (used for expressions, where
// `count: 0` and `vip: true` are CEL literals).
func (w *walker) scalar(n *yaml.Node, what string) (string, bool) {
	n = w.resolve(n)
	if n == nil {
		return "", false
	}
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		return n.Value, true
	}
	w.errorf(n, "%s must be a value, not %s", what, describe(n))
	return "", false
}

func (w *walker) boolean(n *yaml.Node, what string) (bool, bool) {
	n = w.resolve(n)
	if n == nil {
		return false, false
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		v, err := strconv.ParseBool(strings.ToLower(n.Value))
		return v, err == nil
	}
	w.errorf(n, "%s must be true or false, not %s", what, describe(n))
	return false, false
}

func (w *walker) integer(n *yaml.Node, what string, lo, hi int) (int, bool) {
	n = w.resolve(n)
	if n == nil {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		w.errorf(n, "%s must be a whole number, not %s", what, describe(n))
		return 0, false
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil || v < lo || v > hi {
		w.errorf(n, "%s must be between %d and %d, not %s", what, lo, hi, n.Value)
		return 0, false
	}
	return v, true
}

// duration reads Go duration text ("5s", "1m30s") within [lo, hi].
func (w *walker) duration(n *yaml.Node, what string, lo, hi time.Duration) (Duration, bool) {
	n = w.resolve(n)
	if n == nil {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Tag == "!!bool" || n.Tag == "!!map" {
		w.errorf(n, "%s must be a duration like 5s or 1m30s, not %s", what, describe(n))
		return 0, false
	}
	if n.Tag == "!!int" || n.Tag == "!!float" {
		w.errorf(n, "%s needs a unit: write %ss (seconds) or %sms", what, n.Value, n.Value)
		return 0, false
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		w.errorf(n, "%s: %q is not a duration like 5s or 1m30s", what, n.Value)
		return 0, false
	}
	if d < lo || d > hi {
		w.errorf(n, "%s must be between %s and %s, not %s", what, fmtDur(lo), fmtDur(hi), n.Value)
		return 0, false
	}
	return Duration(d), true
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// list reads a sequence, or a single item as a one-element list.
func (w *walker) list(n *yaml.Node) []*yaml.Node {
	r := w.resolve(n)
	if r == nil {
		return nil
	}
	if r.Kind == yaml.SequenceNode {
		return r.Content
	}
	return []*yaml.Node{n}
}
