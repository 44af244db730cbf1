package lock

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/auditpipe/auditpipe/pkg/event"
)

// loginType is the event type of every login to Teleport, successful or not.
const loginType = "user.login"

// failedLogin is one failed login to count: who failed, the event's identity and its time.
type failedLogin struct {
	target target
	id     string    // event.ID: the uid, so that a redelivery is recognised
	at     time.Time // event time; the time the Sink saw it when the event has none
}

// loginFields are the fields of a user.login event that the Sink reads.
type loginFields struct {
	User    string `json:"user"`
	Login   string `json:"login"`
	Success *bool  `json:"success"`
}

// readFailedLogin reports whether e is a failed login to count and, if so, returns it. A
// failed login is a user.login event whose "success" is false; one without a "user" names
// nobody to lock and is not counted (a lock on its login alone would lock everyone who uses
// that login). An event without a time is counted at now. The error says why a user.login
// event cannot be read (a field of the wrong type).
func readFailedLogin(e event.Event, now time.Time) (failedLogin, bool, error) {
	if e.Type != loginType {
		return failedLogin{}, false, nil
	}
	var f loginFields
	if err := json.Unmarshal(e.Body, &f); err != nil {
		return failedLogin{}, false, fmt.Errorf("user.login event %s: %w", e.ID(), err)
	}
	if f.Success == nil || *f.Success || f.User == "" {
		return failedLogin{}, false, nil
	}
	at := e.Time
	if at.IsZero() {
		at = now
	}
	return failedLogin{target: target{user: f.User, login: f.Login}, id: e.ID(), at: at}, true, nil
}
