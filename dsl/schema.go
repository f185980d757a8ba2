package dsl

import _ "embed"

//go:embed schema.json
var schemaJSON []byte

// Schema returns the JSON Schema (draft-07) of the flow language, for
// editors with yaml-language-server.
func Schema() []byte { return schemaJSON }
