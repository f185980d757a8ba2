// Package prompts turns a flow's prompts into audio Graph can fetch: file
// prompts are copied into a content-addressed cache, say: prompts are
// rendered to speech once (espeak-ng by default) and cached by a hash of
// their text, locale and voice, and the cache is served over HTTP under
// /prompts/. Every file it serves is WAV, mono, 16-bit PCM at 16 kHz, the
// format Graph's service-hosted media plays.
package prompts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/ivrflow/ivrflow/workflows"
)

// Renderer speaks text into WAV audio (mono 16-bit PCM at 16 kHz).
type Renderer interface {
	Render(ctx context.Context, text, locale, voice string) ([]byte, error)
}

// Store resolves prompts to URIs and serves the audio behind them.
type Store struct {
	// Dir is the cache of audio files; several processes may share it.
	Dir string
	// Source is the directory flows (and their prompt files) are read from.
	Source string
	// BaseURL is where Handler is reachable from Graph, e.g.
	// https://ivr.example.com; URIs are BaseURL/prompts/KEY.wav.
	BaseURL string
	// TTS renders say: prompts. Default: Espeak.
	TTS Renderer

	mu sync.Mutex // one render of a key at a time
}

var keyRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

// URI returns where Graph can fetch p, preparing the audio first if needed.
func (s *Store) URI(ctx context.Context, p workflows.Prompt) (string, error) {
	switch {
	case p.URL != "":
		return p.URL, nil
	case p.File != "":
		return s.file(p)
	case p.Text != "":
		return s.say(ctx, p)
	}
	return "", fmt.Errorf("prompt %s has no audio", p.Name)
}

// Path returns a local file holding p's audio, preparing it first if
// needed: the media worker plays prompts itself. A URL prompt is fetched
// once and kept in the cache under a hash of its URL.
func (s *Store) Path(ctx context.Context, p workflows.Prompt) (string, error) {
	var uri string
	var err error
	switch {
	case p.URL != "":
		return s.fetch(ctx, p)
	case p.File != "":
		uri, err = s.file(p)
	case p.Text != "":
		uri, err = s.say(ctx, p)
	default:
		return "", fmt.Errorf("prompt %s has no audio", p.Name)
	}
	if err != nil {
		return "", err
	}
	return s.path(strings.TrimSuffix(uri[strings.LastIndex(uri, "/")+1:], ".wav")), nil
}

// fetch downloads a URL prompt into the cache.
func (s *Store) fetch(ctx context.Context, p workflows.Prompt) (string, error) {
	sum := sha256.Sum256([]byte("url\x00" + p.URL))
	key := hex.EncodeToString(sum[:])
	if _, err := os.Stat(s.path(key)); err == nil {
		return s.path(key), nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return "", fmt.Errorf("prompt %s: %w", p.Name, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("prompt %s: %w", p.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("prompt %s: GET %s: %s", p.Name, p.URL, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return "", fmt.Errorf("prompt %s: GET %s: %w", p.Name, p.URL, err)
	}
	if err := s.write(key, b); err != nil {
		return "", err
	}
	return s.path(key), nil
}

func (s *Store) uri(key string) string {
	return strings.TrimSuffix(s.BaseURL, "/") + "/prompts/" + key + ".wav"
}

func (s *Store) path(key string) string { return filepath.Join(s.Dir, key+".wav") }

func (s *Store) file(p workflows.Prompt) (string, error) {
	if !keyRe.MatchString(p.SHA256) {
		return "", fmt.Errorf("prompt %s: file %s has no content hash in the plan", p.Name, p.File)
	}
	if _, err := os.Stat(s.path(p.SHA256)); err == nil {
		return s.uri(p.SHA256), nil
	}
	b, err := os.ReadFile(filepath.Join(s.Source, filepath.FromSlash(p.File)))
	if err != nil {
		return "", fmt.Errorf("prompt %s: %w", p.Name, err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != p.SHA256 {
		return "", fmt.Errorf("prompt %s: %s changed since the flow was compiled (the call keeps the audio it started with; recompile to use the new file)", p.Name, p.File)
	}
	if err := s.write(p.SHA256, b); err != nil {
		return "", err
	}
	return s.uri(p.SHA256), nil
}

func (s *Store) say(ctx context.Context, p workflows.Prompt) (string, error) {
	tts := s.TTS
	if tts == nil {
		tts = Espeak{}
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%T\x00%s\x00%s\x00%s", tts, p.Locale, p.Voice, p.Text)))
	key := hex.EncodeToString(sum[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := os.Stat(s.path(key)); err == nil {
		return s.uri(key), nil
	}
	b, err := tts.Render(ctx, p.Text, p.Locale, p.Voice)
	if err != nil {
		return "", fmt.Errorf("prompt %s: render speech: %w", p.Name, err)
	}
	if err := s.write(key, b); err != nil {
		return "", err
	}
	return s.uri(key), nil
}

// write stores a file atomically, so a reader never sees half of it.
func (s *Store) write(key string, b []byte) error {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return fmt.Errorf("prompt cache: %w", err)
	}
	tmp, err := os.CreateTemp(s.Dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("prompt cache: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("prompt cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("prompt cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path(key)); err != nil {
		return fmt.Errorf("prompt cache: %w", err)
	}
	return nil
}

// Handler serves GET /prompts/KEY.wav from the cache.
func (s *Store) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/prompts/")
		key, ok := strings.CutSuffix(name, ".wav")
		if r.Method != http.MethodGet && r.Method != http.MethodHead || !ok || !keyRe.MatchString(key) {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "audio/wav")
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		http.ServeFile(w, r, s.path(key))
	})
}

// Espeak renders speech with the espeak-ng program (Debian package
// espeak-ng), converting its 22.05 kHz output to 16 kHz.
type Espeak struct {
	// Path to espeak-ng; default "espeak-ng" on PATH.
	Path string
}

// Render implements Renderer.
func (e Espeak) Render(ctx context.Context, text, locale, voice string) ([]byte, error) {
	bin := e.Path
	if bin == "" {
		bin = "espeak-ng"
	}
	if voice == "" {
		voice = strings.ToLower(locale)
	}
	if voice == "" {
		voice = "en-us"
	}
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "-v", voice, "--stdout", "--", text)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", bin, err, strings.TrimSpace(errb.String()))
	}
	return toWAV16k(out.Bytes())
}

var errBadSpeech = errors.New("espeak-ng did not produce PCM WAV")

// toWAV16k converts espeak-ng's streamed WAV (its header lengths are
// placeholders) to a proper 16 kHz mono 16-bit WAV file.
func toWAV16k(b []byte) ([]byte, error) {
	if len(b) < 44 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, errBadSpeech
	}
	channels := binary.LittleEndian.Uint16(b[22:24])
	rate := binary.LittleEndian.Uint32(b[24:28])
	bits := binary.LittleEndian.Uint16(b[34:36])
	i := bytes.Index(b[12:], []byte("data"))
	if channels != 1 || bits != 16 || rate == 0 || i < 0 {
		return nil, errBadSpeech
	}
	data := b[12+i+8:]
	in := make([]int16, len(data)/2)
	for j := range in {
		in[j] = int16(binary.LittleEndian.Uint16(data[2*j:]))
	}
	out := resample(in, int(rate), 16000)
	var w bytes.Buffer
	n := uint32(len(out) * 2)
	w.WriteString("RIFF")
	_ = binary.Write(&w, binary.LittleEndian, 36+n)
	w.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(16000), uint32(32000), uint16(2), uint16(16)} {
		_ = binary.Write(&w, binary.LittleEndian, v)
	}
	w.WriteString("data")
	_ = binary.Write(&w, binary.LittleEndian, n)
	_ = binary.Write(&w, binary.LittleEndian, out)
	return w.Bytes(), nil
}

// resample converts between sample rates by linear interpolation, good
// enough for speech prompts.
func resample(in []int16, from, to int) []int16 {
	if from == to || len(in) == 0 {
		return in
	}
	n := int(int64(len(in)) * int64(to) / int64(from))
	out := make([]int16, n)
	for i := range out {
		pos := float64(i) * float64(from) / float64(to)
		j := int(pos)
		frac := pos - float64(j)
		a := float64(in[min(j, len(in)-1)])
		b := float64(in[min(j+1, len(in)-1)])
		out[i] = int16(a + (b-a)*frac)
	}
	return out
}
