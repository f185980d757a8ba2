// Package phone is the softphone: a web page that calls a route of the
// media worker from the browser over WebRTC, sends DTMF as RFC 4733 events
// from a keypad, plays the prompts and shows the call's live transcript.
//
// [Handler] serves the page and its assets, embedded in the binary, at the
// root of wherever it is mounted (the media server mounts it under
// /phone/); they use relative URLs for each other and these absolute ones
// for the API:
//
//   - GET /phone/routes lists the routes to call;
//   - POST /calls?route=NAME sends the browser's complete SDP offer (ICE
//     gathered, no trickle) and gets 201, Location: /calls/ID and the SDP
//     answer;
//   - GET /calls/ID, polled every 500 ms during a call, gives its state,
//     digits and transcript;
//   - DELETE /calls/ID hangs up.
//
// The page offers PCMU first (with telephone-event) and disables echo
// cancellation, noise suppression and gain control on the microphone. It
// has no build step and loads nothing from elsewhere. For automation it
// exposes window.phone: call(route) → Promise of the call ID,
// press(keys), hangup() → Promise, state() and stats() → Promise of the
// RTP counters and codec.
package phone

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed static
var static embed.FS

// contentTypes are the types of the files the page is made of. They are
// fixed here rather than taken from the system's MIME tables, which vary.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".ico":  "image/x-icon",
}

// contentSecurityPolicy allows the page only its own scripts, styles and
// API: nothing inline, nothing from elsewhere.
const contentSecurityPolicy = "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"

type file struct {
	data  []byte
	ctype string
	etag  string
}

var (
	filesOnce sync.Once
	files     map[string]file
)

func load() map[string]file {
	filesOnce.Do(func() {
		files = map[string]file{}
		err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := static.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			ctype, ok := contentTypes[path.Ext(p)]
			if !ok {
				ctype = "application/octet-stream"
			}
			files[strings.TrimPrefix(p, "static/")] = file{data: data, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
			return nil
		})
		if err != nil {
			panic("phone: reading the embedded page: " + err.Error())
		}
	})
	return files
}

// Handler serves the softphone: index.html at the root and its assets
// beside it. Mount it with the mount point stripped, e.g.
//
//	mux.Handle("/phone/", http.StripPrefix("/phone", phone.Handler()))
//
// A request for the mount point without its trailing slash is redirected to
// it, so that the page's relative URLs resolve.
func Handler() http.Handler {
	files := load()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/")
		if name == "" {
			if orig := requestPath(r); !strings.HasSuffix(orig, "/") {
				target := orig + "/"
				if r.URL.RawQuery != "" {
					target += "?" + r.URL.RawQuery
				}
				http.Redirect(w, r, target, http.StatusMovedPermanently)
				return
			}
			name = "index.html"
		}
		f, ok := files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.ctype)
		h.Set("ETag", f.etag)
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		if f.ctype == contentTypes[".html"] {
			h.Set("Content-Security-Policy", contentSecurityPolicy)
		}
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.data))
	})
}

// requestPath is the path the client asked for, before any StripPrefix.
func requestPath(r *http.Request) string {
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && u.Path != "" {
		return u.Path
	}
	return "/" + strings.TrimPrefix(r.URL.Path, "/")
}
