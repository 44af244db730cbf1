//go:build race

package shipper_test

// raceEnabled says the race detector is on: it slows the embedded NATS server, the fake
// peers and the engine several times, so the largest tests ship fewer events.
const raceEnabled = true
