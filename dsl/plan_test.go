package dsl

import (
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]string{
		"+14255550120":   "phone +14255550120",
		" +14255550120 ": "phone +14255550120",
		"user:550fae72-d251-43ec-868c-373732c2704f":                 "user 550fae72-d251-43ec-868c-373732c2704f",
		"application_instance:870b4cdc-17e5-4aab-b738-4dc7f19532f1": "application_instance 870b4cdc-17e5-4aab-b738-4dc7f19532f1",
		"+0425":       "error: is not an E.164 number",
		"14255550120": "error: is neither an E.164 number",
		"user:bob":    "error: is not a GUID",
		"queue:550fae72-d251-43ec-868c-373732c2704f": "error: is neither",
	} {
		tg, err := ParseTarget(in)
		got := tg.Type + " " + tg.ID
		if err != nil {
			got = "error: " + err.Error()
		}
		if !strings.HasPrefix(got, want) && !(strings.HasPrefix(want, "error: ") && strings.Contains(got, strings.TrimPrefix(want, "error: "))) {
			t.Errorf("ParseTarget(%q) = %s; want %s", in, got, want)
		}
	}
}
