package config

import "errors"

// Problem is one thing wrong with one key. [Load] and [Config.Validate] return every problem
// they find, joined with [errors.Join]; find them with errors.As or by unwrapping.
//
// A Problem's text never holds a secret: values are shown only without URL credentials, and
// values of unknown keys are never shown.
type Problem struct {
	// Source is where the value came from: "path/to/file.toml:12", "env", "flags"; empty for
	// a problem with the configuration as a whole.
	Source string
	// Key is the dotted key, or the environment variable or flag name as written.
	Key string
	// Message says what is wrong, and what would be right.
	Message string
}

// Error returns "source: key: message", or "key: message" without a source.
func (p *Problem) Error() string {
	if p.Source == "" {
		return p.Key + ": " + p.Message
	}
	return p.Source + ": " + p.Key + ": " + p.Message
}

// Warning is something in the configuration that auditpipe accepts but that its author may
// not expect, such as a teleport-event-handler key auditpipe ignores.
type Warning struct {
	Source  string // as in Problem
	Key     string
	Message string
}

// String returns "source: key: message", or "key: message" without a source.
func (w Warning) String() string {
	p := Problem(w)
	return p.Error()
}

// problems collects Problems.
type problems []*Problem

func (ps *problems) add(source, key, message string) {
	*ps = append(*ps, &Problem{Source: source, Key: key, Message: message})
}

// err joins the problems in the order found, or returns nil.
func (ps problems) err() error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errors.Join(errs...)
}
