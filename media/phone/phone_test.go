package phone

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHandler(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/phone/", http.StripPrefix("/phone", Handler()))

	for _, c := range []struct {
		method, path string
		status       int
		ctype        string
		contains     string
	}{
		{"GET", "/phone/", 200, "text/html; charset=utf-8", `<script src="phone.js" defer></script>`},
		{"GET", "/phone/index.html", 200, "text/html; charset=utf-8", `<audio id="remote" autoplay>`},
		{"GET", "/phone/phone.js", 200, "text/javascript; charset=utf-8", "window.phone ="},
		{"GET", "/phone/phone.css", 200, "text/css; charset=utf-8", ".keypad"},
		{"HEAD", "/phone/", 200, "text/html; charset=utf-8", ""},
		{"GET", "/phone/nope.js", 404, "", ""},
		{"GET", "/phone/static/phone.js", 404, "", ""},
		{"POST", "/phone/", 405, "", ""},
	} {
		w := get(t, mux, c.method, c.path)
		if w.Code != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, w.Code, c.status)
			continue
		}
		if c.status != 200 {
			continue
		}
		if got := w.Header().Get("Content-Type"); got != c.ctype {
			t.Errorf("%s %s: Content-Type %q, want %q", c.method, c.path, got, c.ctype)
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("ETag") == "" {
			t.Errorf("%s %s: headers %v", c.method, c.path, w.Header())
		}
		if !strings.Contains(w.Body.String(), c.contains) {
			t.Errorf("%s %s: the body lacks %q", c.method, c.path, c.contains)
		}
	}

	// The page must be fetched with its trailing slash, or its relative
	// URLs miss; StripPrefix("/phone") leaves an empty path for "/phone".
	if w := get(t, http.StripPrefix("/phone", Handler()), "GET", "/phone?x=1"); w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != "/phone/?x=1" {
		t.Errorf("GET /phone: %d to %q, want a redirect to /phone/?x=1", w.Code, w.Header().Get("Location"))
	}
	// Mounted at the root, or with the slash stripped too.
	if w := get(t, Handler(), "GET", "/"); w.Code != 200 || !strings.Contains(w.Body.String(), "<title>") {
		t.Errorf("GET / at the root: %d", w.Code)
	}
	if w := get(t, http.StripPrefix("/phone/", Handler()), "GET", "/phone/"); w.Code != 200 || !strings.Contains(w.Body.String(), "<title>") {
		t.Errorf("GET /phone/ with /phone/ stripped: %d", w.Code)
	}

	// Revalidation.
	etag := get(t, mux, "GET", "/phone/phone.js").Header().Get("ETag")
	if w := get(t, mux, "GET", "/phone/phone.js", "If-None-Match", etag); w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match %s: %d, want 304", etag, w.Code)
	}

	// The page loads nothing from elsewhere and runs no inline script.
	csp := get(t, mux, "GET", "/phone/").Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	for name, f := range load() {
		body := strings.ReplaceAll(string(f.data), `xmlns="http://www.w3.org/2000/svg"`, "")
		for _, bad := range []string{"http://", "https://", "//cdn", "<script>"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q: the page must be self-contained", name, bad)
			}
		}
	}
}
