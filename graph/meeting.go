package graph

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// JoinInfo is what a Teams meeting join URL says about its meeting: the
// members a create-call body needs to join it.
type JoinInfo struct {
	// ChatInfo is nil for a join URL that carries only a meeting id.
	ChatInfo    *ChatInfo
	MeetingInfo *MeetingInfo
	// TenantID is the organizer's tenant, or "".
	TenantID string
}

// ParseJoinURL reads a Teams meeting join URL. Two forms are understood:
//
//   - https://teams.microsoft.com/l/meetup-join/{threadId}/{messageId}?context={"Tid":...,"Oid":...}
//     gives ChatInfo (thread, message and, from the context's MessageId,
//     reply-chain message) and an organizerMeetingInfo naming the
//     organizer (Oid) in the tenant (Tid), as Microsoft's samples do;
//   - https://teams.microsoft.com/meet/{joinMeetingId}?p={passcode} gives a
//     joinMeetingIdMeetingInfo.
//
// The host is not checked, so national clouds and emulators work.
func ParseJoinURL(joinURL string) (JoinInfo, error) {
	fail := func(format string, args ...any) (JoinInfo, error) {
		return JoinInfo{}, fmt.Errorf("graph: join URL: "+format, args...)
	}
	u, err := url.Parse(strings.TrimSpace(joinURL))
	if err != nil {
		return fail("%w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return fail("%q is not an absolute http(s) URL", joinURL)
	}
	segs := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	for i := range segs {
		if segs[i], err = url.PathUnescape(segs[i]); err != nil {
			return fail("%w", err)
		}
	}
	switch {
	case len(segs) == 4 && segs[0] == "l" && segs[1] == "meetup-join":
		var ctx struct {
			Tid       string `json:"Tid"`
			Oid       string `json:"Oid"`
			MessageID string `json:"MessageId"`
		}
		raw := u.Query().Get("context")
		if raw == "" {
			return fail("no context parameter")
		}
		if err := json.Unmarshal([]byte(raw), &ctx); err != nil {
			return fail("context parameter: %w", err)
		}
		if segs[2] == "" || segs[3] == "" || ctx.Oid == "" {
			return fail("want a thread id, a message id and an organizer (Oid)")
		}
		return JoinInfo{
			ChatInfo: &ChatInfo{
				ODataType:           ODataTypeChatInfo,
				ThreadID:            segs[2],
				MessageID:           segs[3],
				ReplyChainMessageID: ctx.MessageID,
			},
			MeetingInfo: &MeetingInfo{
				ODataType: ODataTypeOrganizerMeetingInfo,
				Organizer: &IdentitySet{
					ODataType: ODataTypeIdentitySet,
					User:      &Identity{ODataType: ODataTypeIdentity, ID: ctx.Oid, TenantID: ctx.Tid},
				},
			},
			TenantID: ctx.Tid,
		}, nil
	case len(segs) == 2 && segs[0] == "meet" && segs[1] != "":
		return JoinInfo{
			MeetingInfo: &MeetingInfo{
				ODataType:     ODataTypeJoinMeetingIDMeetingInfo,
				JoinMeetingID: segs[1],
				Passcode:      u.Query().Get("p"),
			},
		}, nil
	}
	return fail("%q is neither a /l/meetup-join/ nor a /meet/ URL", joinURL)
}
