package dsl

// The keys each mapping of the flow language accepts. The JSON Schema is
// tested against these tables, so the two can't drift apart.
var (
	topKeys      = []string{"flow", "description", "defaults", "routes", "params", "variables", "secrets", "prompts", "schedules", "start", "on_hangup", "steps"}
	defaultsKeys = []string{"locale", "voice", "barge_in", "type_ahead", "terminators", "first_digit_timeout", "inter_digit_timeout", "overall_timeout", "max_attempts", "max_call_duration", "http_timeout", "http_retries", "filler_after"}
	routeKeys    = []string{"name", "number", "identity", "caller", "default"}
	varKeys      = []string{"type", "default", "required", "sensitive", "description"}
	promptKeys   = []string{"say", "file", "url", "locale", "voice", "locales"}
	variantKeys  = []string{"say", "file", "url", "voice"}
	scheduleKeys = []string{"time_zone", "weekly", "holidays"}
	stepCommon   = []string{"next", "description"}
	playKeys     = []string{"prompts", "barge_in"}
	collectKeys  = []string{"into", "prompt", "digits", "min_digits", "max_digits", "terminators", "keep_terminator", "first_digit_timeout", "inter_digit_timeout", "overall_timeout", "barge_in", "type_ahead", "max_attempts", "pattern", "no_input", "no_match", "sensitive", "on_timeout", "on_invalid", "on_max_attempts"}
	menuKeys     = []string{"greeting", "short_greeting", "options", "invalid", "no_input", "timeout", "max_failures", "max_timeouts", "barge_in", "type_ahead", "into", "on_max_failures", "on_max_timeouts"}
	recordKeys   = []string{"into", "prompt", "beep", "max_duration", "initial_silence", "max_silence", "stop_keys", "on_silence"}
	switchKeys   = []string{"cases", "default"}
	caseKeys     = []string{"when", "goto"}
	httpKeys     = []string{"method", "url", "headers", "body", "timeout", "retries", "into", "filler", "filler_after", "on_error"}
	transferKeys = []string{"to", "on_failure"}
	targetKeys   = []string{"user", "phone", "application", "application_instance", "display_name", "tenant_id"}
	redirectKeys = []string{"to", "timeout"}
	rejectKeys   = []string{"reason"}
	subflowKeys  = []string{"flow", "params", "into"}
	hoursKeys    = []string{"schedule", "open", "closed", "holiday"}
)

// kindKeys lists the step kinds as the keys that name them.
func kindKeys() []string {
	out := make([]string, 0, len(Kinds()))
	for _, k := range Kinds() {
		out = append(out, string(k))
	}
	return out
}
