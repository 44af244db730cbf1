package adminapi

import (
	"crypto/sha256"
	"fmt"
	"strings"
)

// Token is one line of a tokens file (admin.tokens-file).
type Token struct {
	// Line is the line's number in the file, from 1.
	Line  int
	Scope Scope
	Token string
}

// ParseTokens reads a tokens file: one "<scope> <token>" per line, scope read or admin,
// separated by spaces or tabs; blank lines and lines starting with "#" are ignored, and a
// token may appear once. The tokens come in file order. Errors start with "line N:" and never
// show a token.
func ParseTokens(data []byte) ([]Token, error) {
	var tokens []Token
	firstLine := map[[sha256.Size]byte]int{}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("line %d: want \"<scope> <token>\" (%d fields)", n, len(fields))
		}
		scope := Scope(fields[0])
		if scope != ScopeRead && scope != ScopeAdmin {
			return nil, fmt.Errorf("line %d: the scope (first field) must be read or admin", n)
		}
		// Compared by digest so that the map holds no token.
		digest := sha256.Sum256([]byte(fields[1]))
		if first, dup := firstLine[digest]; dup {
			return nil, fmt.Errorf("line %d: the token of line %d again", n, first)
		}
		firstLine[digest] = n
		tokens = append(tokens, Token{Line: n, Scope: scope, Token: fields[1]})
	}
	return tokens, nil
}
