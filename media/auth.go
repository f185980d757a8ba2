package media

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// requireToken returns middleware that lets a request through only with
// one of tokens as its bearer token (RFC 6750, the scheme WHIP clients
// use), and refuses it with 401 and a WWW-Authenticate challenge
// otherwise. With no tokens it lets everything through.
func requireToken(tokens []string) echo.MiddlewareFunc {
	// Compared as SHA-256 digests, in constant time, against every token:
	// neither a token's bytes nor its length shows in the timing.
	var sums [][sha256.Size]byte
	for _, t := range tokens {
		if t != "" {
			sums = append(sums, sha256.Sum256([]byte(t)))
		}
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if len(sums) == 0 {
			return next
		}
		return func(c echo.Context) error {
			got, ok := bearer(c.Request().Header.Get(echo.HeaderAuthorization))
			if ok {
				sum := sha256.Sum256([]byte(got))
				match := 0
				for _, want := range sums {
					match |= subtle.ConstantTimeCompare(sum[:], want[:])
				}
				if match == 1 {
					return next(c)
				}
			}
			msg := "this media worker needs an access token: send Authorization: Bearer TOKEN"
			challenge := `Bearer realm="ivrflow media"`
			if ok {
				msg = "the access token is not valid here"
				challenge += `, error="invalid_token"`
			}
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, challenge)
			return echo.NewHTTPError(http.StatusUnauthorized, msg)
		}
	}
}

// bearer returns the token of an "Authorization: Bearer TOKEN" header
// value; the scheme's name is case-insensitive.
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
