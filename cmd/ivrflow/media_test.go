package main

import (
	"strings"
	"testing"
)

func TestMediaFlags(t *testing.T) {
	for _, tc := range []struct {
		f    mediaFlags
		want string // an error, or "" for none
	}{
		{mediaFlags{publicIPs: "203.0.113.10, 198.51.100.7", ports: "40000-40999", udpPort: "41000", origins: "https://www.example.com", tokens: " tok-1 ,tok-2,",
			ice: "stun:stun.example.com:3478, turn:turn.example.com?transport=udp", turnSecret: "s"}, ""},
		{mediaFlags{tokens: "has space"}, "printable ASCII"},
		{mediaFlags{tokens: " , "}, "no token in it"},
		{mediaFlags{ice: "turn:turn.example.com"}, "--media-ice-servers: a TURN server needs credentials"},
		{mediaFlags{ice: "turn.example.com:3478"}, "--media-ice-servers: ICE server"},
		{mediaFlags{tokens: "caf\u00e9"}, "printable ASCII"},
		{mediaFlags{publicIPs: "example.com"}, "is not an IP address"},
		{mediaFlags{ports: "40999-40000"}, "is not a port range"},
		{mediaFlags{ports: "40000"}, "is not a port range"},
		{mediaFlags{udpPort: "70000"}, "is not a port"},
		{mediaFlags{udpPort: "x"}, "is not a port"},
		{mediaFlags{origins: "www.example.com"}, "is not an origin"},
	} {
		mc, err := tc.f.config()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.f, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: error %v, want one saying %q", tc.f, err, tc.want)
		case tc.want == "" && (len(mc.PublicIPs) != 2 || mc.PortMin != 40000 || mc.PortMax != 40999 || mc.UDPPort != 41000 || len(mc.AllowOrigins) != 1 || strings.Join(mc.Tokens, "|") != "tok-1|tok-2" || len(mc.ICE.URLs) != 2 || mc.ICE.Secret != "s"):
			t.Errorf("%+v: config %+v", tc.f, mc)
		}
	}
}
