package media

import (
	"errors"
	"fmt"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"
)

// ICE names the STUN and TURN servers calls use, the media worker's side
// and, through GET /phone/config, the softphone page's. A TURN server
// relays a call's audio when the caller and the worker cannot reach each
// other directly (a caller behind a firewall that lets no UDP out but to
// its TURN server, or a worker with no address callers can reach).
type ICE struct {
	// URLs of the servers: stun:HOST[:PORT], turn:HOST[:PORT][?transport=
	// udp|tcp], turns:HOST[:PORT].
	URLs []string
	// Username and Credential are static TURN credentials.
	Username, Credential string
	// Secret is the TURN server's shared secret instead (coturn's
	// static-auth-secret, the "TURN REST API"): each call and each page
	// load gets credentials of its own, valid for TTL.
	Secret string
	// TTL is how long credentials made from Secret stay valid; default
	// 12 hours.
	TTL time.Duration
}

// Validate says what is wrong with i, if anything.
func (i ICE) Validate() error {
	var turnURLs int
	for _, u := range i.URLs {
		p, err := stun.ParseURI(u)
		if err != nil {
			return fmt.Errorf("ICE server %q: %w (want stun:HOST:PORT, turn:HOST:PORT?transport=udp or turns:HOST:PORT)", u, err)
		}
		if p.Scheme == stun.SchemeTypeTURN || p.Scheme == stun.SchemeTypeTURNS {
			turnURLs++
		}
	}
	switch {
	case turnURLs > 0 && i.Secret == "" && (i.Username == "" || i.Credential == ""):
		return errors.New("a TURN server needs credentials: a username and a credential, or the server's shared secret")
	case i.Secret != "" && i.Username != "":
		return errors.New("TURN credentials are either static (a username and a credential) or made from a shared secret, not both")
	}
	return nil
}

// servers returns the servers with credentials for one call or page.
func (i ICE) servers() ([]webrtc.ICEServer, error) {
	var stuns, turns []string
	for _, u := range i.URLs {
		if p, err := stun.ParseURI(u); err == nil && (p.Scheme == stun.SchemeTypeTURN || p.Scheme == stun.SchemeTypeTURNS) {
			turns = append(turns, u)
		} else {
			stuns = append(stuns, u)
		}
	}
	var out []webrtc.ICEServer
	if len(stuns) > 0 {
		out = append(out, webrtc.ICEServer{URLs: stuns})
	}
	if len(turns) > 0 {
		user, cred := i.Username, i.Credential
		if i.Secret != "" {
			ttl := i.TTL
			if ttl <= 0 {
				ttl = 12 * time.Hour
			}
			var err error
			if user, cred, err = turn.GenerateLongTermTURNRESTCredentials(i.Secret, "ivrflow", ttl); err != nil {
				return nil, err
			}
		}
		out = append(out, webrtc.ICEServer{URLs: turns, Username: user, Credential: cred})
	}
	return out, nil
}
