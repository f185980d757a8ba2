package webhook

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// routes builds the echo instance with every route of the server.
func (s *server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError

	e.POST(s.cfg.NotificationPath, s.handleNotifications)
	e.POST(DialPath, s.handleDial)
	e.GET("/healthz", s.handleHealthz)
	e.GET("/readyz", s.handleReadyz)
	e.GET("/metrics", echo.WrapHandler(s.m.handler()))
	prompts := s.deps.Prompts
	if prompts == nil {
		prompts = http.NotFoundHandler()
	}
	e.Match([]string{http.MethodGet, http.MethodHead}, "/prompts/*", echo.WrapHandler(prompts))
	return e
}
