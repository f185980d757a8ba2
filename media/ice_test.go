package media

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"

	"github.com/ivrflow/ivrflow/internal/pionpeer"
)

// startTURN runs a TURN server on loopback that takes TURN REST API
// credentials ("EXPIRY:USER", HMAC-SHA1 of it under secret), as coturn's
// use-auth-secret does. It returns its URL and a count of the
// allocations it made.
func startTURN(t *testing.T, secret string) (string, *atomic.Int64) {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var allocs atomic.Int64
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm: "ivrflow.test",
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			expiry, _, _ := strings.Cut(ra.Username, ":")
			if ts, err := strconv.ParseInt(expiry, 10, 64); err != nil || ts < time.Now().Unix() {
				return "", nil, false
			}
			mac := hmac.New(sha1.New, []byte(secret))
			mac.Write([]byte(ra.Username))
			return ra.Username, turn.GenerateAuthKey(ra.Username, ra.Realm, base64.StdEncoding.EncodeToString(mac.Sum(nil))), true
		},
		QuotaHandler: func(string, string, net.Addr) bool { allocs.Add(1); return true },
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: pc,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: net.ParseIP("127.0.0.1"), Address: "127.0.0.1"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return "turn:" + pc.LocalAddr().String() + "?transport=udp", &allocs
}

func TestICECheck(t *testing.T) {
	for _, tc := range []struct {
		ice  ICE
		want string
	}{
		{ICE{}, ""},
		{ICE{URLs: []string{"stun:stun.example.com:3478"}}, ""},
		{ICE{URLs: []string{"turn:turn.example.com:3478?transport=udp"}, Secret: "s"}, ""},
		{ICE{URLs: []string{"turns:turn.example.com:5349"}, Username: "u", Credential: "c"}, ""},
		{ICE{URLs: []string{"turn:turn.example.com"}}, "needs credentials"},
		{ICE{URLs: []string{"turn:turn.example.com"}, Username: "u", Credential: "c", Secret: "s"}, "not both"},
		{ICE{URLs: []string{"https://turn.example.com"}}, "want stun:HOST:PORT"},
	} {
		err := tc.ice.Validate()
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.ice, err, tc.want)
		}
	}
}

// TestTURNRelay: with a TURN server configured, the worker's answer offers
// a relayed candidate, a caller that may only use its relay (as one
// behind a strict firewall) connects, and the /phone page gets credentials
// of its own that the server's secret signs.
func TestTURNRelay(t *testing.T) {
	const secret = "turn-secret"
	url, allocs := startTURN(t, secret)
	ice := ICE{URLs: []string{url}, Secret: secret}
	_, hs := newTestServer(t, &fakeTemporal{}, func(c *Config) { c.ICE = ice })

	// The page's configuration.
	servers, err := phoneConfig(t, hs.URL, "")
	if err != nil || len(servers) != 1 || servers[0].URLs[0] != url {
		t.Fatalf("/phone/config: %+v, %v", servers, err)
	}
	page := servers[0]
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(page.Username))
	if !strings.HasSuffix(page.Username, ":ivrflow") || page.Credential != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
		t.Errorf("the page's credentials %q / %q are not signed by the secret", page.Username, page.Credential)
	}

	// A caller that may only use the relay.
	pc, offer := pionpeer.OfferWith(t, webrtc.MimeTypePCMU, 0, 8000, webrtc.Configuration{
		ICETransportPolicy: webrtc.ICETransportPolicyRelay,
		ICEServers:         []webrtc.ICEServer{{URLs: page.URLs, Username: page.Username, Credential: page.Credential}},
	})
	if !strings.Contains(offer, "typ relay") || strings.Contains(offer, "typ host") {
		t.Fatalf("the caller's offer is not relay-only:\n%s", offer)
	}
	connected := make(chan struct{})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			close(connected)
		}
	})
	resp, answer := post(t, hs.URL+"/calls?route=demo", "application/sdp", offer)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /calls: %d %s", resp.StatusCode, answer)
	}
	if !strings.Contains(answer, "typ relay") {
		t.Errorf("the worker's answer has no relayed candidate:\n%s", answer)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatalf("the relayed call did not connect (%s)", pc.ConnectionState())
	}
	if n := allocs.Load(); n < 2 {
		t.Errorf("the TURN server made %d allocations; want one for each side", n)
	}
}

// TestSilentSTUN: a STUN server that never answers delays the answer by
// gatherWait, and does not cost the call: the answer goes with the
// candidates gathered so far.
func TestSilentSTUN(t *testing.T) {
	hole, err := net.ListenPacket("udp4", "127.0.0.1:0") // reads nothing, answers nothing
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	_, hs := newTestServer(t, &fakeTemporal{}, func(c *Config) {
		c.ICE = ICE{URLs: []string{"stun:" + hole.LocalAddr().String()}}
	})
	_, offer := pionpeer.Offer(t, webrtc.MimeTypePCMU, 0, 8000)
	t0 := time.Now()
	resp, answer := post(t, hs.URL+"/calls?route=demo", "application/sdp", offer)
	took := time.Since(t0)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(answer, "typ host") {
		t.Fatalf("POST /calls: %d %s", resp.StatusCode, answer)
	}
	// Gathering never completes (the server is silent): the 201 itself
	// says the answer went without it.
	t.Logf("answered in %v", took.Round(time.Millisecond))
}

// TestPhoneConfigStaticTURN: static TURN credentials reach the page only
// from a worker that requires a token; STUN servers always do.
func TestPhoneConfigStaticTURN(t *testing.T) {
	ice := ICE{URLs: []string{"stun:stun.example.com:3478", "turn:turn.example.com:3478"}, Username: "u", Credential: "c"}
	for _, tokens := range [][]string{nil, {"s3cret"}} {
		_, hs := newTestServer(t, &fakeTemporal{}, func(c *Config) { c.ICE, c.Tokens = ice, tokens })
		auth := ""
		if tokens != nil {
			auth = "Bearer s3cret"
		}
		servers, err := phoneConfig(t, hs.URL, auth)
		var got []string
		for _, s := range servers {
			got = append(got, strings.Join(s.URLs, ",")+" "+s.Username+"/"+s.Credential)
		}
		want := "stun:stun.example.com:3478 /"
		if tokens != nil {
			want += "|turn:turn.example.com:3478 u/c"
		}
		if err != nil || strings.Join(got, "|") != want {
			t.Errorf("tokens %v: /phone/config %q, %v; want %q", tokens, got, err, want)
		}
	}
}

// phoneConfig fetches the ICE servers GET /phone/config gives the page,
// with an Authorization header when auth is not empty.
func phoneConfig(t *testing.T, base, auth string) ([]iceServer, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/phone/config", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var conf struct {
		ICEServers []iceServer `json:"ice_servers"`
	}
	err = json.NewDecoder(resp.Body).Decode(&conf)
	return conf.ICEServers, err
}
