package prompts

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-audio/wav"

	"github.com/ivrflow/ivrflow/dsl"
	"github.com/ivrflow/ivrflow/workflows"
)

func checkWAV(t *testing.T, b []byte) {
	t.Helper()
	d := wav.NewDecoder(bytes.NewReader(b))
	if !d.IsValidFile() || d.NumChans != 1 || d.BitDepth != 16 || d.SampleRate != 16000 {
		t.Fatalf("not WAV mono 16-bit 16 kHz: valid %v, %d ch, %d bit, %d Hz", d.IsValidFile(), d.NumChans, d.BitDepth, d.SampleRate)
	}
	dur, err := d.Duration()
	if err != nil || dur <= 0 {
		t.Fatalf("duration %v, %v", dur, err)
	}
}

// TestSayRendersOnceAndServes renders a say: prompt with the real
// espeak-ng, serves it, and reuses the cache the second time.
func TestSayRendersOnceAndServes(t *testing.T) {
	dir := t.TempDir()
	srv := httptest.NewServer(nil)
	defer srv.Close()
	s := &Store{Dir: dir, BaseURL: srv.URL}
	srv.Config.Handler = http.StripPrefix("", s.Handler())
	p := workflows.Prompt{Name: "welcome", Text: "Welcome to Contoso.", Locale: "en-US"}
	uri, err := s.URI(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(uri, srv.URL+"/prompts/") {
		t.Fatalf("uri = %s", uri)
	}
	resp, err := http.Get(uri)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/wav" {
		t.Fatalf("GET %s = %d %s", uri, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	checkWAV(t, b.Bytes())
	entries, _ := os.ReadDir(dir)
	again, err := s.URI(context.Background(), p)
	if err != nil || again != uri {
		t.Errorf("second URI = %s, %v; want the cached %s", again, err, uri)
	}
	if after, _ := os.ReadDir(dir); len(after) != len(entries) {
		t.Errorf("the second render wrote a new file")
	}
	if r, _ := http.Get(srv.URL + "/prompts/../../etc/passwd"); r.StatusCode != 404 {
		t.Errorf("path escape = %d", r.StatusCode)
	}
}

func TestFilePrompt(t *testing.T) {
	plan, err := dsl.CompileFile("../flows/step-play.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var fp dsl.Prompt
	var name string
	for n, p := range plan.Prompts {
		if p.File != "" {
			fp, name = p, n
		}
	}
	if fp.File == "" {
		t.Fatal("step-play has no file prompt")
	}
	s := &Store{Dir: t.TempDir(), Source: "../flows", BaseURL: "http://ivr.example.com"}
	uri, err := s.URI(context.Background(), workflows.Prompt{Name: name, File: fp.File, SHA256: fp.SHA256})
	if err != nil || uri != "http://ivr.example.com/prompts/"+fp.SHA256+".wav" {
		t.Fatalf("URI = %s, %v", uri, err)
	}
	b, _ := os.ReadFile(filepath.Join(s.Dir, fp.SHA256+".wav"))
	checkWAV(t, b)
	if _, err := s.URI(context.Background(), workflows.Prompt{Name: name, File: fp.File, SHA256: strings.Repeat("0", 64)}); err == nil {
		t.Error("a file whose content changed since compilation was served")
	}
}
