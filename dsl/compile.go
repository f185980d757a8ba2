package dsl

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-audio/wav"
)

// maxPromptFile bounds the size of a prompt file the compiler reads.
const maxPromptFile = 64 << 20

// CompileFile compiles the flow file at path on the local file system.
// Sub-flows and prompt files are looked up beside it. Errors name path as
// given.
func CompileFile(p string) (*Plan, error) {
	dir, name := filepath.Split(p)
	if dir == "" {
		dir = "."
	}
	return Compile(os.DirFS(dir), name, WithDisplayDir(strings.TrimSuffix(dir, string(filepath.Separator))))
}

// Option changes how Compile works.
type Option func(*compiler)

// WithDisplayDir makes error positions name files as dir/file, so they
// point where the user's shell is.
func WithDisplayDir(dir string) Option {
	return func(c *compiler) {
		if dir != "." && dir != "" {
			c.display = dir
		}
	}
}

// Compile reads the flow file name from fsys, checks it and every flow it
// uses as a sub-flow, and returns the Plan. Any problem in any of them is
// reported: the error is an ErrorList sorted by position.
func Compile(fsys fs.FS, name string, opts ...Option) (*Plan, error) {
	c := &compiler{fsys: fsys, done: map[string]*Plan{}}
	for _, o := range opts {
		o(c)
	}
	plan := c.compile(name, nil, nil)
	if plan != nil && len(c.errs) == 0 {
		plan.Subflows = map[string]*Plan{}
		for k, v := range c.done {
			if v != plan {
				plan.Subflows[k] = v
			}
		}
		if len(plan.Subflows) == 0 {
			plan.Subflows = nil
		}
		v, err := plan.hash()
		if err != nil {
			return nil, err
		}
		plan.Version = v
	}
	c.errs.Sort()
	if err := c.errs.Err(); err != nil {
		return nil, err
	}
	return plan, nil
}

// CompileSource compiles flow text that has no directory around it, as an
// editor buffer or a fuzz input: sub-flows and prompt files can't be found,
// and are reported as missing.
func CompileSource(name string, src []byte) (*Plan, error) {
	return Compile(sourceFS{name: name, src: src}, name)
}

type compiler struct {
	fsys    fs.FS
	display string
	errs    ErrorList
	done    map[string]*Plan // by flow name, root included
	wavs    map[string]wavInfo
}

type wavInfo struct {
	sum string
	err string
}

func (c *compiler) displayName(name string) string {
	if c.display == "" {
		return name
	}
	return filepath.Join(c.display, filepath.FromSlash(name))
}

// compile compiles one file; stack holds the flows being compiled above it,
// to refuse sub-flow recursion.
func (c *compiler) compile(name string, stack []string, from *Error) *Plan {
	file := c.displayName(name)
	src, err := readLimited(c.fsys, name, MaxFileSize)
	if err != nil {
		if from != nil && errors.Is(err, fs.ErrNotExist) {
			c.errs.Add(from.Pos, "%s: no file %s beside this flow", from.Msg, path.Base(name))
		} else if from != nil {
			c.errs.Add(from.Pos, "%s: %v", from.Msg, err)
		} else {
			c.errs.Add(Pos{File: file}, "%v", err)
		}
		return nil
	}
	doc := parseYAML(file, src, &c.errs)
	if doc == nil {
		return nil
	}
	plan, p := parseFlow(file, doc, &c.errs)
	plan.Source = path.Base(name)
	c.done[plan.Flow] = plan

	for _, ps := range p.sets {
		a := &plan.Steps[ps.step].Set[ps.i]
		v, ok := p.vars[a.Name]
		switch {
		case a.Name == builtinLocale:
			a.Expr = p.expr(ps.e.val, TypeString, "locale", nil)
		case !ok:
			p.errorf(ps.e.key, "set: undeclared variable %q%s; declare it under variables:", a.Name, suggest(a.Name, mapKeys(p.vars)))
		default:
			a.Expr = p.expr(ps.e.val, v.Type, fmt.Sprintf("variable %q", a.Name), nil)
		}
	}

	dir := path.Dir(name)
	for _, use := range p.subflows {
		st := &plan.Steps[use.step]
		sf := st.Subflow
		if sf.Flow == "" {
			continue
		}
		if slices.Contains(stack, sf.Flow) || sf.Flow == plan.Flow {
			p.errorf(use.node, "sub-flow %q calls itself through %s; sub-flows can't recurse", sf.Flow, strings.Join(append(stack, plan.Flow, sf.Flow), " → "))
			continue
		}
		sub, ok := c.done[sf.Flow]
		if !ok {
			ref := &Error{Pos: p.pos(use.node), Msg: fmt.Sprintf("sub-flow %q", sf.Flow)}
			sub = c.compile(path.Join(dir, sf.Flow+".yaml"), append(stack, plan.Flow), ref)
			if sub == nil {
				continue
			}
			if sub.Flow != sf.Flow {
				p.errorf(use.node, "sub-flow file %s.yaml names its flow %q; the file name and flow: must match", sf.Flow, sub.Flow)
				continue
			}
		}
		params := map[string]Var{}
		for _, v := range sub.Params {
			params[v.Name] = v
		}
		for i, a := range sf.Params {
			v, ok := params[a.Name]
			if !ok {
				p.errorf(use.args[a.Name], "sub-flow %q has no param %q%s", sf.Flow, a.Name, suggest(a.Name, mapKeys(params)))
				continue
			}
			sf.Params[i].Expr = p.expr(use.args[a.Name], v.Type, fmt.Sprintf("param %q of %s", a.Name, sf.Flow), nil)
		}
		for _, v := range sub.Params {
			if v.Required && !slices.ContainsFunc(sf.Params, func(a Assign) bool { return a.Name == v.Name }) {
				p.errorf(use.node, "sub-flow %q needs param %q", sf.Flow, v.Name)
			}
		}
	}

	for _, k := range slices.Sorted(mapKeysSeq(p.vars)) {
		plan.Vars = append(plan.Vars, *p.vars[k])
	}
	checkExprs(plan.Vars, plan.Secrets, p.exprs, &c.errs)
	c.checkPromptFiles(p, dir)
	checkGraph(p, c.done)
	// Positions in a Plan are relative to its Source.
	for i := range plan.Steps {
		plan.Steps[i].Pos.File = ""
	}
	for i := range plan.Routes {
		plan.Routes[i].Pos.File = ""
	}
	return plan
}

func mapKeys[V any](m map[string]V) []string {
	return slices.Sorted(mapKeysSeq(m))
}

func mapKeysSeq[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// checkPromptFiles checks that every file prompt exists beside the flow and
// is WAV, mono, 16-bit PCM at 16 kHz (the format Graph plays), and records
// its content hash in the Plan.
func (c *compiler) checkPromptFiles(p *parser, dir string) {
	for _, pf := range p.files {
		full := path.Join(dir, pf.path)
		if strings.HasPrefix(pf.path, "/") || !fs.ValidPath(full) {
			p.errorf(pf.node, "prompt file %q must be a relative path inside the flow's directory", pf.path)
			continue
		}
		if c.wavs == nil {
			c.wavs = map[string]wavInfo{}
		}
		info, ok := c.wavs[full]
		if !ok {
			info = checkWAV(c.fsys, full)
			c.wavs[full] = info
		}
		if info.err != "" {
			p.errorf(pf.node, "prompt file %q %s", pf.path, info.err)
			continue
		}
		pr := p.plan.Prompts[pf.name]
		if pf.loc == "" {
			pr.SHA256 = info.sum
		} else {
			v := pr.Locales[pf.loc]
			v.SHA256 = info.sum
			pr.Locales[pf.loc] = v
		}
		p.plan.Prompts[pf.name] = pr
	}
}

func checkWAV(fsys fs.FS, name string) wavInfo {
	b, err := readLimited(fsys, name, maxPromptFile)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && errors.Is(err, fs.ErrNotExist) {
			return wavInfo{err: "does not exist"}
		}
		return wavInfo{err: fmt.Sprintf("can't be read: %v", err)}
	}
	d := wav.NewDecoder(bytes.NewReader(b))
	if !d.IsValidFile() {
		return wavInfo{err: "is not a WAV file"}
	}
	var problems []string
	if d.WavAudioFormat != 1 {
		problems = append(problems, fmt.Sprintf("format %d (want 1, PCM)", d.WavAudioFormat))
	}
	if d.NumChans != 1 {
		problems = append(problems, fmt.Sprintf("%d channels (want mono)", d.NumChans))
	}
	if d.BitDepth != 16 {
		problems = append(problems, fmt.Sprintf("%d-bit (want 16-bit)", d.BitDepth))
	}
	if d.SampleRate != 16000 {
		problems = append(problems, fmt.Sprintf("%d Hz (want 16000 Hz)", d.SampleRate))
	}
	if len(problems) > 0 {
		return wavInfo{err: "is " + strings.Join(problems, ", ") + "; Graph plays WAV mono 16-bit PCM at 16 kHz (convert with: sox in.wav -r 16000 -c 1 -b 16 out.wav)"}
	}
	sum := sha256.Sum256(b)
	return wavInfo{sum: hex.EncodeToString(sum[:])}
}

// readLimited reads a whole file, refusing one larger than limit.
func readLimited(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("file is larger than %d MiB, the limit for this kind of file", limit>>20)
	}
	return b, nil
}

// sourceFS is a file system holding one file.
type sourceFS struct {
	name string
	src  []byte
}

func (s sourceFS) Open(name string) (fs.File, error) {
	if name != s.name {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &sourceFile{Reader: bytes.NewReader(s.src), name: name}, nil
}

type sourceFile struct {
	*bytes.Reader
	name string
}

func (f *sourceFile) Stat() (fs.FileInfo, error) {
	return nil, &fs.PathError{Op: "stat", Path: f.name, Err: errors.ErrUnsupported}
}
func (f *sourceFile) Close() error { return nil }
