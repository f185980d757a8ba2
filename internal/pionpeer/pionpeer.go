// Package pionpeer makes WebRTC callers out of pion peers, for the tests of
// the media worker: a peer that offers one voice codec and
// telephone-event/8000 on loopback, with every ICE candidate in its offer.
package pionpeer

import (
	"testing"

	"github.com/pion/webrtc/v4"
)

// Offer returns a new peer offering mime (at clock hertz, payload type pt)
// and telephone-event/8000 on payload type 126, send and receive, and its
// complete offer. The peer closes at the test's cleanup.
func Offer(t testing.TB, mime string, pt webrtc.PayloadType, clock uint32) (*webrtc.PeerConnection, string) {
	t.Helper()
	return OfferWith(t, mime, pt, clock, webrtc.Configuration{})
}

// OfferWith is Offer with a configuration of the peer's own (ICE servers,
// a relay-only policy).
func OfferWith(t testing.TB, mime string, pt webrtc.PayloadType, clock uint32, cfg webrtc.Configuration) (*webrtc.PeerConnection, string) {
	t.Helper()
	me := &webrtc.MediaEngine{}
	channels := uint16(1)
	if mime == webrtc.MimeTypeOpus {
		channels = 2 // as WebRTC's Opus always is
	}
	for _, c := range []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mime, ClockRate: clock, Channels: channels}, PayloadType: pt},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/telephone-event", ClockRate: 8000, SDPFmtpLine: "0-16"}, PayloadType: 126},
	} {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)).NewPeerConnection(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv}); err != nil {
		t.Fatal(err)
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return pc, pc.LocalDescription().SDP
}
