// Package graphsim is a local emulator of the Microsoft Graph calls API,
// faithful enough that code which works against it works against Graph:
// the token endpoint, the JWKS that signs notifications, every call action
// with the service's response codes and bodies, notifications posted to
// the bot's callback in the service's shapes and order, media that takes as
// long as its audio, recordings built from what a scripted caller says, and
// fault switches for the service's known misbehaviours (reordered,
// duplicated, batched and delayed notifications, PascalCase enums, string
// result codes).
//
// Scripted callers ring the bot, press digits, speak, hang up and accept or
// refuse transfers, through a Go API (Emulator.Ring) or the control HTTP
// API under /_emulator/. Every call keeps a transcript of what the bot did
// to it. The emulator stands in for Microsoft only because Microsoft can't
// be reached from a laptop or CI; where Graph's behaviour is undocumented,
// the choice made here is written next to the code.
package graphsim
