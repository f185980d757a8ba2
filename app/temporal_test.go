package app

import "testing"

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:7233":           true,
		"127.0.0.5:7233":           true,
		"[::1]:7233":               true,
		"localhost:7233":           true,
		"LOCALHOST:7233":           true,
		"localhost":                true,
		"10.0.0.4:7233":            false,
		"temporal:7233":            false,
		"ns.acct.tmprl.cloud:7233": false,
		"":                         false,
	} {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}
