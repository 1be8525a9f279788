// Package examplerules embeds the example rule sets, so that `balas serve`
// without a rules folder answers with the example shop out of the box.
package examplerules

import "embed"

// Toko is the Indonesian shop example (toko/*.yaml), the built-in default.
//
//go:embed toko/*.yaml
var Toko embed.FS
