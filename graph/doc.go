// Package graph speaks the Microsoft Graph Communications calls API: the
// typed wire models of calls, operations and notifications, an HTTP client
// for every call action (OAuth2 client credentials, retries that honour
// Retry-After, a typed error), and validation of the bearer tokens Graph
// puts on the notifications it posts to a bot.
//
// The models are lenient where the service is inconsistent: enums parse in
// any case, resultInfo takes subcode or subCode as a number or a string,
// and fields the models don't know survive a decode and encode. The package
// knows nothing about flows.
package graph
