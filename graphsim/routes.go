package graphsim

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// throttle makes the next n API requests answer 429.
type throttle struct {
	n          int
	retryAfter time.Duration
}

// Throttle makes the next n calls API requests answer 429 Too Many
// Requests with Retry-After, as the service does under load.
func (e *Emulator) Throttle(n int, retryAfter time.Duration) {
	e.mu.Lock()
	e.throttle = throttle{n: n, retryAfter: retryAfter}
	e.mu.Unlock()
}

// The 400 error code the emulator uses for requests the service refuses;
// Graph does not document the codes of these refusals.
const codeBadRequest = "BadRequest"

func (e *Emulator) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("POST /{tenant}/oauth2/v2.0/token", e.handleToken)
	m.HandleFunc("GET /v1/.well-known/OpenIdConfiguration", e.handleOpenID)
	m.HandleFunc("GET /v1/keys", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, e.jwks()) })
	m.HandleFunc("GET /recordings/{id}", e.handleRecording)
	for _, base := range []string{"/{ver}/communications/calls", "/beta/app/calls"} {
		m.Handle("POST "+base, e.api(e.handleCreate))
		m.Handle("GET "+base+"/{id}", e.api(e.handleGet))
		m.Handle("DELETE "+base+"/{id}", e.api(e.handleDelete))
		m.Handle("POST "+base+"/{id}/{action}", e.api(e.handleAction))
		m.Handle("GET "+base+"/{id}/operations/{op}", e.api(e.handleGetOperation))
		m.Handle("GET "+base+"/{id}/participants", e.api(e.handleParticipants))
		m.Handle("POST "+base+"/{id}/participants/invite", e.api(e.handleInvite))
		m.Handle("POST "+base+"/{id}/participants/{pid}/{action}", e.api(e.handleParticipantAction))
	}
	e.controlRoutes(m)
	return m
}

// api wraps a calls API handler with what every Graph response has:
// request ids, the bearer token check and the throttling switch.
func (e *Emulator) api(h func(http.ResponseWriter, *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("request-id", newID())
		if id := r.Header.Get("client-request-id"); id != "" {
			w.Header().Set("client-request-id", id)
		}
		w.Header().Set("Cache-Control", "private")
		if v := r.PathValue("ver"); v != "" && v != "v1.0" && v != "beta" {
			graphError(w, r, http.StatusNotFound, "BadRequest", fmt.Sprintf("Invalid version: %s", v))
			return
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		e.mu.Lock()
		exp, known := e.tokens[tok]
		th := e.throttle
		if th.n > 0 {
			e.throttle.n--
		}
		e.mu.Unlock()
		if !ok || tok == "" {
			graphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
			return
		}
		if !known || time.Now().After(exp) {
			graphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
			return
		}
		if th.n > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(th.retryAfter.Seconds())))
			writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{
				"code":    "TooManyRequests",
				"message": "Please retry again later.",
				"innerError": map[string]any{
					"code": "429", "status": "429", "message": "Please retry after",
					"date": time.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": w.Header().Get("request-id"),
				},
			}})
			return
		}
		h(w, r)
	})
}

// handleToken is the OAuth2 client-credentials endpoint.
func (e *Emulator) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'.", 900144)
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	switch {
	case r.PathValue("tenant") != e.cfg.TenantID && r.PathValue("tenant") != "common":
		oauthError(w, "invalid_request", fmt.Sprintf("AADSTS90002: Tenant '%s' not found.", r.PathValue("tenant")), 90002)
	case r.PostForm.Get("grant_type") != "client_credentials":
		oauthError(w, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.", 70003)
	case id != e.cfg.AppID:
		oauthError(w, "unauthorized_client", fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory.", id), 700016)
	case subtle.ConstantTimeCompare([]byte(secret), []byte(e.cfg.AppSecret)) != 1:
		oauthError(w, "invalid_client", "AADSTS7000215: Invalid client secret provided.", 7000215)
	case !strings.HasSuffix(r.PostForm.Get("scope"), "/.default"):
		oauthError(w, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.", 1002012)
	default:
		tok := "graphsim." + newID() + newID()
		e.mu.Lock()
		e.tokens[tok] = time.Now().Add(3599 * time.Second)
		e.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
	}
}

func oauthError(w http.ResponseWriter, code, desc string, n int) {
	status := http.StatusBadRequest
	if code == "invalid_client" || code == "unauthorized_client" {
		status = http.StatusUnauthorized
	}
	writeJSON(w, status, map[string]any{
		"error": code, "error_description": desc, "error_codes": []int{n},
		"timestamp": time.Now().UTC().Format("2006-01-02 15:04:05Z"), "trace_id": newID(), "correlation_id": newID(),
	})
}

func (e *Emulator) handleOpenID(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                Issuer,
		"authorization_endpoint":                "https://invalid.botframework.com/",
		"jwks_uri":                              e.JWKSURL(),
		"id_token_signing_alg_values_supported": []string{"RSA256"},
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
	})
}

// handleRecording serves a recording to whoever holds its access token.
func (e *Emulator) handleRecording(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	rec, ok := e.recordings[r.PathValue("id")]
	e.mu.Unlock()
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case !ok || !rec.expires.IsZero() && time.Now().After(rec.expires):
		http.Error(w, "recording not found", http.StatusNotFound)
	case subtle.ConstantTimeCompare([]byte(tok), []byte(rec.token)) != 1:
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(rec.wav)
	}
}

// lookup finds a live call for a request, answering 404 as Graph does for
// unknown or ended calls. The caller must not hold e.mu.
func (e *Emulator) lookup(w http.ResponseWriter, r *http.Request) *call {
	e.mu.Lock()
	c, ok := e.calls[normID(r.PathValue("id"))]
	ended := ok && c.terminal()
	e.mu.Unlock()
	if !ok || ended {
		graphError(w, r, http.StatusNotFound, "8522", "Call not found.")
		return nil
	}
	return c
}

func (e *Emulator) handleGet(w http.ResponseWriter, r *http.Request) {
	c := e.lookup(w, r)
	if c == nil {
		return
	}
	e.mu.Lock()
	res := c.fullResource(c.state)
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, res)
}

func (e *Emulator) handleDelete(w http.ResponseWriter, r *http.Request) {
	c := e.lookup(w, r)
	if c == nil {
		return
	}
	e.mu.Lock()
	c.logEvent("hangup", "by the bot")
	e.mu.Unlock()
	c.end(endBotHangup)
	w.WriteHeader(http.StatusNoContent)
}

func (e *Emulator) handleGetOperation(w http.ResponseWriter, r *http.Request) {
	c := e.lookup(w, r)
	if c == nil {
		return
	}
	e.mu.Lock()
	op, ok := c.ops[r.PathValue("op")]
	var res map[string]any
	if ok {
		res = op.resource()
	}
	e.mu.Unlock()
	if !ok {
		graphError(w, r, http.StatusNotFound, "itemNotFound", "Operation not found.")
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (e *Emulator) handleParticipants(w http.ResponseWriter, r *http.Request) {
	c := e.lookup(w, r)
	if c == nil {
		return
	}
	e.mu.Lock()
	remote := c.source
	if c.direction == directionOutgoing && len(c.targets) > 0 {
		remote, _ = c.targets[0].(map[string]any)
	}
	e.mu.Unlock()
	info := map[string]any{}
	if remote != nil {
		info["identity"] = remote["identity"]
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": []any{
		map[string]any{"@odata.type": "#microsoft.graph.participant", "id": newID(), "info": info, "isInLobby": false,
			"mediaStreams": []any{map[string]any{"mediaType": "audio", "direction": "sendReceive", "serverMuted": false}}},
	}})
}

// opResponse answers an action with its operation: 200, the Location of
// the operation, and its body.
func opResponse(w http.ResponseWriter, e *Emulator, r *http.Request, op *operation) {
	e.mu.Lock()
	res := op.resource()
	e.mu.Unlock()
	ver := r.PathValue("ver")
	if ver == "" {
		ver = "beta"
	}
	w.Header().Set("Location", fmt.Sprintf("%s/%s/communications/calls/%s/operations/%s", e.cfg.BaseURL, ver, op.c.id, op.id))
	writeJSON(w, http.StatusOK, res)
}

func validContext(w http.ResponseWriter, r *http.Request, cc string) bool {
	if len(cc) > 256 {
		graphError(w, r, http.StatusBadRequest, codeBadRequest, "clientContext must be at most 256 characters.")
		return false
	}
	return true
}

func (e *Emulator) validCallback(w http.ResponseWriter, r *http.Request, uri string) bool {
	if uri == "" {
		return true
	}
	if e.cfg.Strict && !strings.HasPrefix(uri, "https://") {
		graphError(w, r, http.StatusBadRequest, codeBadRequest, "callbackUri must be an https URI.")
		return false
	}
	if !strings.HasPrefix(uri, "https://") && !strings.HasPrefix(uri, "http://") {
		graphError(w, r, http.StatusBadRequest, codeBadRequest, "callbackUri is not an absolute URI.")
		return false
	}
	return true
}

// Wire shapes of the requests the emulator reads.
type (
	mediaInfo struct {
		URI        string `json:"uri"`
		ResourceID string `json:"resourceId"`
	}
	prompt struct {
		ODataType string    `json:"@odata.type"`
		MediaInfo mediaInfo `json:"mediaInfo"`
	}
	mediaConfig struct {
		ODataType     string      `json:"@odata.type"`
		PreFetchMedia []mediaInfo `json:"preFetchMedia"`
	}
)

func promptURIs(w http.ResponseWriter, r *http.Request, prompts []prompt, limit int) ([]string, bool) {
	if len(prompts) > limit {
		graphError(w, r, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("The maximum supported mediaPrompt collection size is %d.", limit))
		return nil, false
	}
	var out []string
	for _, p := range prompts {
		if p.MediaInfo.URI == "" {
			graphError(w, r, http.StatusBadRequest, codeBadRequest, "mediaInfo.uri is required for every prompt.")
			return nil, false
		}
		out = append(out, p.MediaInfo.URI)
	}
	return out, true
}

func (e *Emulator) handleAction(w http.ResponseWriter, r *http.Request) {
	action := strings.TrimPrefix(r.PathValue("action"), "microsoft.graph.")
	c := e.lookup(w, r)
	if c == nil {
		return
	}
	switch action {
	case "answer":
		e.answer(w, r, c)
	case "reject":
		e.reject(w, r, c)
	case "redirect":
		e.redirect(w, r, c)
	case "transfer":
		e.transfer(w, r, c)
	case "keepAlive":
		e.mu.Lock()
		if c.state == stateIncoming {
			e.mu.Unlock()
			graphError(w, r, http.StatusBadRequest, codeBadRequest, "The call has not been answered.")
			return
		}
		c.resetKeepAlive()
		c.logEvent("keepAlive", "")
		e.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
	case "playPrompt":
		e.playPrompt(w, r, c)
	case "recordResponse", "record":
		e.recordResponse(w, r, c)
	case "subscribeToTone", "cancelMediaProcessing", "sendDtmfTones", "mute", "unmute", "updateRecordingStatus", "addLargeGalleryView":
		e.simpleOp(w, r, c, action)
	case "changeScreenSharingRole":
		var req struct {
			Role string `json:"role"`
		}
		if err := readJSON(r, &req); err != nil || (req.Role != "viewer" && req.Role != "sharer") {
			graphError(w, r, http.StatusBadRequest, codeBadRequest, "role must be viewer or sharer.")
			return
		}
		if !e.established(w, r, c) {
			return
		}
		e.mu.Lock()
		c.logEvent("changeScreenSharingRole", "%s", req.Role)
		e.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	default:
		graphError(w, r, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("Resource not found for the segment '%s'.", r.PathValue("action")))
	}
}

// established checks the call can take media and call-control actions.
func (e *Emulator) established(w http.ResponseWriter, r *http.Request, c *call) bool {
	e.mu.Lock()
	st := c.state
	e.mu.Unlock()
	if st != stateEstablished {
		graphError(w, r, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("The call is %s; this action needs an established call.", st))
		return false
	}
	return true
}

func (e *Emulator) answer(w http.ResponseWriter, r *http.Request, c *call) {
	var req struct {
		CallbackURI        string      `json:"callbackUri"`
		AcceptedModalities []string    `json:"acceptedModalities"`
		MediaConfig        mediaConfig `json:"mediaConfig"`
	}
	if !decode(w, r, &req) {
		return
	}
	switch {
	case !e.validCallback(w, r, req.CallbackURI):
		return
	case len(req.AcceptedModalities) == 0:
		graphError(w, r, http.StatusBadRequest, codeBadRequest, "acceptedModalities is required for answering a call.")
		return
	case req.MediaConfig.ODataType != "#microsoft.graph.serviceHostedMediaConfig" && req.MediaConfig.ODataType != "#microsoft.graph.appHostedMediaConfig":
		graphError(w, r, http.StatusBadRequest, codeBadRequest, "mediaConfig must be a serviceHostedMediaConfig or an appHostedMediaConfig.")
		return
	}
	e.mu.Lock()
	if c.state != stateIncoming {
		st := c.state
		e.mu.Unlock()
		graphError(w, r, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("The call is %s; only an incoming call can be answered.", st))
		return
	}
	if req.CallbackURI != "" {
		c.callbackURI = req.CallbackURI
	}
	c.answerTimer.Stop()
	c.logEvent("answer", "modalities %s, %d media to prefetch", strings.Join(req.AcceptedModalities, ","), len(req.MediaConfig.PreFetchMedia))
	c.establish()
	e.mu.Unlock()
	for _, m := range req.MediaConfig.PreFetchMedia {
		go func() { _, _ = e.fetchPrompt(m.URI) }()
	}
	w.WriteHeader(http.StatusAccepted)
}

func (e *Emulator) reject(w http.ResponseWriter, r *http.Request, c *call) {
	var req struct {
		Reason      string `json:"reason"`
		CallbackURI string `json:"callbackUri"`
	}
	if !decode(w, r, &req) {
		return
	}
	reason := strings.ToLower(req.Reason)
	if reason == "" {
		reason = "none"
	}
	if !slices.Contains([]string{"none", "busy", "forbidden"}, reason) {
		graphError(w, r, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("reason %q is not one of none, busy, forbidden.", req.Reason))
		return
	}
	e.mu.Lock()
	if c.state != stateIncoming {
		e.mu.Unlock()
		graphError(w, r, http.StatusBadRequest, codeBadRequest, "Only an incoming call that has not been answered can be rejected; use delete to end it.")
		return
	}
	c.logEvent("reject", "reason %s", reason)
	e.mu.Unlock()
	c.end(endRejected)
	w.WriteHeader(http.StatusAccepted)
}

func (e *Emulator) redirect(w http.ResponseWriter, r *http.Request, c *call) {
	var req struct {
		Targets     []map[string]any `json:"targets"`
		Timeout     *int             `json:"timeout"`
		CallbackURI string           `json:"callbackUri"`
	}
	if !decode(w, r, &req) {
		return
	}
	switch {
	case len(req.Targets) == 0:
		graphError(w, r, http.StatusBadRequest, codeBadRequest, "targets is required.")
		return
	case len(req.Targets) > 25:
		graphError(w, r, http.StatusBadRequest, codeBadRequest, "We support up to 25 targets for simulring.")
		return
	case req.Timeout != nil && (*req.Timeout < 15 || *req.Timeout > 90):
		graphError(w, r, http.StatusBadRequest, codeBadRequest, "timeout must be between 15 and 90 seconds inclusive.")
		return
	case !e.validCallback(w, r, req.CallbackURI):
		return
	}
	e.mu.Lock()
	if c.state != stateIncoming {
		e.mu.Unlock()
		graphError(w, r, http.StatusBadRequest, codeBadRequest, "Only an incoming call that has not been answered can be redirected.")
		return
	}
	c.logEvent("redirect", "to %s", describeTargets(req.Targets))
	e.mu.Unlock()
	c.end(endRedirected)
	w.WriteHeader(http.StatusAccepted)
}

// describeTargets names invitationParticipantInfo targets for transcripts.
func describeTargets(ts []map[string]any) string {
	var names []string
	for _, t := range ts {
		id, _ := t["identity"].(map[string]any)
		for _, kind := range []string{"phone", "user", "application", "applicationInstance", "guest"} {
			if m, ok := id[kind].(map[string]any); ok {
				names = append(names, fmt.Sprintf("%s %v", kind, m["id"]))
			}
		}
	}
	if len(names) == 0 {
		return "(no identity)"
	}
	return strings.Join(names, ", ")
}

func (e *Emulator) transfer(w http.ResponseWriter, r *http.Request, c *call) {
	var req struct {
		TransferTarget map[string]any `json:"transferTarget"`
	}
	if !decode(w, r, &req) {
		return
	}
	if _, ok := req.TransferTarget["identity"].(map[string]any); !ok {
		graphError(w, r, http.StatusBadRequest, codeBadRequest, "transferTarget.identity is required.")
		return
	}
	if !e.established(w, r, c) {
		return
	}
	target := describeTargets([]map[string]any{req.TransferTarget})
	e.mu.Lock()
	c.setState(stateTransferring, nil)
	c.logEvent("transfer", "to %s", target)
	refuse := c.caller != nil && c.caller.spec.RefuseTransfer
	e.mu.Unlock()
	time.AfterFunc(e.cfg.TransferDelay, func() {
		e.mu.Lock()
		if c.state != stateTransferring {
			e.mu.Unlock()
			return
		}
		if refuse {
			c.state = stateEstablished
			ri := resultInfo(500, 0, "Transfer failed: the target declined.")
			delete(ri, "subcode")
			ri["subCode"] = 7000 // as the service writes it in this notification
			c.notify("updated", c.resourceURL(), c.callResource(stateEstablished, map[string]any{"resultInfo": ri}))
			c.logEvent("transfer-failed", "%s declined; the call is back with the bot", target)
			e.mu.Unlock()
			return
		}
		c.setState(stateTransferAcc, nil)
		c.logEvent("transfer-accepted", "%s", target)
		e.mu.Unlock()
		c.end(endTransferred)
	})
	w.WriteHeader(http.StatusAccepted)
}

func (e *Emulator) playPrompt(w http.ResponseWriter, r *http.Request, c *call) {
	var req struct {
		Prompts       []prompt `json:"prompts"`
		ClientContext string   `json:"clientContext"`
	}
	if !decode(w, r, &req) {
		return
	}
	uris, ok := promptURIs(w, r, req.Prompts, maxPrompts)
	if !ok || !validContext(w, r, req.ClientContext) || !e.established(w, r, c) {
		return
	}
	if len(uris) == 0 {
		graphError(w, r, http.StatusBadRequest, codeBadRequest, "prompts is required.")
		return
	}
	e.mu.Lock()
	op := c.newOp(opPlayPrompt, req.ClientContext)
	op.prompts = uris
	c.enqueue(op)
	e.mu.Unlock()
	opResponse(w, e, r, op)
}

func (e *Emulator) recordResponse(w http.ResponseWriter, r *http.Request, c *call) {
	var req struct {
		Prompts        []prompt `json:"prompts"`
		BargeIn        bool     `json:"bargeInAllowed"`
		InitialSilence *int     `json:"initialSilenceTimeoutInSeconds"`
		MaxSilence     *int     `json:"maxSilenceTimeoutInSeconds"`
		MaxDuration    *int     `json:"maxRecordDurationInSeconds"`
		PlayBeep       *bool    `json:"playBeep"`
		StopTones      []string `json:"stopTones"`
		ClientContext  string   `json:"clientContext"`
	}
	if !decode(w, r, &req) {
		return
	}
	uris, ok := promptURIs(w, r, req.Prompts, maxRecordPrompts)
	if !ok || !validContext(w, r, req.ClientContext) {
		return
	}
	p := &recordParams{bargeIn: req.BargeIn, beep: req.PlayBeep == nil || *req.PlayBeep}
	for _, t := range []struct {
		name string
		v    *int
		dst  *time.Duration
	}{
		{"initialSilenceTimeoutInSeconds", req.InitialSilence, &p.initialSilence},
		{"maxSilenceTimeoutInSeconds", req.MaxSilence, &p.maxSilence},
		{"maxRecordDurationInSeconds", req.MaxDuration, &p.maxDuration},
	} {
		s := 5 // Graph's default for all three
		if t.v != nil {
			s = *t.v
		}
		if s < 1 || s > 120 {
			graphError(w, r, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("%s must be between 1 and 120 seconds, not %d.", t.name, s))
			return
		}
		*t.dst = time.Duration(s) * time.Second
	}
	for _, k := range req.StopTones {
		if len(k) != 1 || !strings.Contains("0123456789*#ABCD", strings.ToUpper(k)) {
			graphError(w, r, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("stopTones: %q is not a key such as \"#\" or \"1\".", k))
			return
		}
		p.stopTones = append(p.stopTones, strings.ToUpper(k))
	}
	if !e.established(w, r, c) {
		return
	}
	e.mu.Lock()
	op := c.newOp(opRecord, req.ClientContext)
	op.prompts = uris
	op.record = p
	c.enqueue(op)
	e.mu.Unlock()
	opResponse(w, e, r, op)
}

// simpleOp handles the actions whose operation completes at once (no
// notification follows, commsoperation.md).
func (e *Emulator) simpleOp(w http.ResponseWriter, r *http.Request, c *call, action string) {
	var req struct {
		ClientContext string   `json:"clientContext"`
		Tones         []string `json:"tones"`
		Status        string   `json:"status"`
	}
	if r.ContentLength != 0 && !decode(w, r, &req) {
		return
	}
	if !validContext(w, r, req.ClientContext) || !e.established(w, r, c) {
		return
	}
	types := map[string]string{"subscribeToTone": opSubscribeTone, "cancelMediaProcessing": opCancelMedia, "sendDtmfTones": opSendDtmf,
		"mute": opMute, "unmute": opUnmute, "updateRecordingStatus": opUpdateRecStat,
		"addLargeGalleryView": "#microsoft.graph.addLargeGalleryViewOperation"}
	if action == "updateRecordingStatus" && !slices.Contains([]string{"notRecording", "recording", "failed"}, req.Status) {
		graphError(w, r, http.StatusBadRequest, codeBadRequest, "status must be notRecording, recording or failed.")
		return
	}
	e.mu.Lock()
	op := c.newOp(types[action], req.ClientContext)
	op.status = "completed"
	switch action {
	case "subscribeToTone":
		c.subscribed = true
		c.logEvent("subscribeToTone", "")
	case "cancelMediaProcessing":
		n := c.cancelMedia("cancelMediaProcessing")
		c.logEvent("cancelMediaProcessing", "%d operations cancelled", n)
	case "sendDtmfTones":
		c.logEvent("sendDtmfTones", "%s", strings.Join(req.Tones, " "))
	default:
		c.logEvent(action, "%s", req.Status)
	}
	e.mu.Unlock()
	opResponse(w, e, r, op)
}

func (e *Emulator) handleInvite(w http.ResponseWriter, r *http.Request) {
	c := e.lookup(w, r)
	if c == nil {
		return
	}
	var req struct {
		Participants  []map[string]any `json:"participants"`
		ClientContext string           `json:"clientContext"`
	}
	if !decode(w, r, &req) {
		return
	}
	if len(req.Participants) == 0 || len(req.Participants) > 5 {
		graphError(w, r, http.StatusBadRequest, codeBadRequest, "participants must list 1 to 5 invitees.")
		return
	}
	if !validContext(w, r, req.ClientContext) || !e.established(w, r, c) {
		return
	}
	e.mu.Lock()
	op := c.newOp(opInvite, req.ClientContext)
	c.logEvent("invite", "%s", describeTargets(req.Participants))
	e.mu.Unlock()
	opResponse(w, e, r, op)
	time.AfterFunc(e.cfg.TransferDelay, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		op.finish("completed", 200, 0, "Action completed successfully.")
	})
}

// handleParticipantAction serves mute, startHoldMusic and stopHoldMusic on
// a participant. Mute completes at once; hold music runs and completes
// with a notification, as invitations do.
func (e *Emulator) handleParticipantAction(w http.ResponseWriter, r *http.Request) {
	c := e.lookup(w, r)
	if c == nil {
		return
	}
	types := map[string]string{"mute": opMute, "startHoldMusic": "#microsoft.graph.startHoldMusicOperation", "stopHoldMusic": "#microsoft.graph.stopHoldMusicOperation"}
	action := strings.TrimPrefix(r.PathValue("action"), "microsoft.graph.")
	typ, ok := types[action]
	if !ok {
		graphError(w, r, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("Resource not found for the segment '%s'.", r.PathValue("action")))
		return
	}
	var req struct {
		ClientContext string `json:"clientContext"`
	}
	if r.ContentLength != 0 && !decode(w, r, &req) {
		return
	}
	if !validContext(w, r, req.ClientContext) || !e.established(w, r, c) {
		return
	}
	e.mu.Lock()
	op := c.newOp(typ, req.ClientContext)
	if action == "mute" {
		op.status = "completed"
	}
	c.logEvent(action, "participant %s", r.PathValue("pid"))
	e.mu.Unlock()
	opResponse(w, e, r, op)
	if action != "mute" {
		time.AfterFunc(e.cfg.TransferDelay, func() {
			e.mu.Lock()
			defer e.mu.Unlock()
			op.finish("completed", 200, 0, "Action completed successfully.")
		})
	}
}

// handleCreate places an outgoing call for the bot. The callee answers
// after Config.TransferDelay unless a ring spec says otherwise.
func (e *Emulator) handleCreate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		CallbackURI         string           `json:"callbackUri"`
		Targets             []map[string]any `json:"targets"`
		RequestedModalities []string         `json:"requestedModalities"`
		MediaConfig         mediaConfig      `json:"mediaConfig"`
		Source              map[string]any   `json:"source"`
		TenantID            string           `json:"tenantId"`
		MeetingInfo         map[string]any   `json:"meetingInfo"`
		ChatInfo            map[string]any   `json:"chatInfo"`
	}
	if !decode(w, r, &req) {
		return
	}
	switch {
	case req.CallbackURI == "":
		graphError(w, r, http.StatusBadRequest, codeBadRequest, "callbackUri is required.")
		return
	case !e.validCallback(w, r, req.CallbackURI):
		return
	case len(req.Targets) == 0 && req.MeetingInfo == nil:
		graphError(w, r, http.StatusBadRequest, codeBadRequest, "A call needs targets, or meetingInfo to join a meeting.")
		return
	case len(req.RequestedModalities) == 0:
		graphError(w, r, http.StatusBadRequest, codeBadRequest, "requestedModalities is required.")
		return
	}
	e.mu.Lock()
	c := e.newCall(directionOutgoing)
	c.callbackURI = req.CallbackURI
	c.source = req.Source
	for _, t := range req.Targets {
		c.targets = append(c.targets, t)
	}
	c.state = stateEstablishing
	what := describeTargets(req.Targets)
	if req.MeetingInfo != nil {
		what = fmt.Sprintf("meeting (%v)", req.MeetingInfo["@odata.type"])
	}
	c.logEvent("dial", "to %s", what)
	res := c.fullResource(stateEstablishing)
	if req.ChatInfo != nil {
		res["chatInfo"] = req.ChatInfo
	}
	if req.MeetingInfo != nil {
		res["meetingInfo"] = req.MeetingInfo
	}
	spec, hasSpec := e.callees[calleeKey(req.Targets)]
	e.mu.Unlock()
	time.AfterFunc(e.cfg.TransferDelay, func() {
		if hasSpec && spec.NoAnswer {
			c.end(endCalleeAbsent)
			return
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if c.state != stateEstablishing {
			return
		}
		if hasSpec {
			c.caller = &Caller{e: e, c: c, spec: CallerSpec{Script: spec.Script, RefuseTransfer: spec.RefuseTransfer}}
		}
		c.setState(stateEstablished, map[string]any{"mediaState": map[string]any{"@odata.type": "#microsoft.graph.callMediaState", "audio": "active"}})
		c.answered = time.Now()
		c.resetKeepAlive()
		c.logEvent("established", "the callee answered")
		if c.caller != nil {
			go c.caller.run(c)
		}
	})
	w.Header().Set("Location", fmt.Sprintf("%s/v1.0/communications/calls/%s", e.cfg.BaseURL, c.id))
	writeJSON(w, http.StatusCreated, res)
}

// decode reads a JSON request body into v, answering 400 in Graph's error
// shape when it can't.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := readJSON(r, v); err != nil {
		graphError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
		return false
	}
	return true
}
