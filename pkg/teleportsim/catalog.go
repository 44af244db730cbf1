package teleportsim

// evType is the simulator's compact id of an event type.
type evType uint8

const (
	tUserLogin evType = iota
	tSessionStart
	tSessionJoin
	tSessionLeave
	tSessionEnd
	tSessionUpload
	tExec
	tCertCreate
	tRoleCreated
	tUserCreate
	tAccessRequestCreate
	tDBQuery
	tAppSessionStart
	tKubeRequest
	tPort
	tSFTP
	tPrint
	tResize
	tSessionData
	typeCount
)

// typeInfo describes an event type: its name (the "event" field) and how Options.Mix treats it.
type typeInfo struct {
	name string
	// mixable: the type may be weighted in Options.Mix. Derived and recording-only types are not.
	mixable bool
	// perUnit is the number of audit events one occurrence brings: a session.start brings its
	// session.end, session.data and session.upload, a session.join its session.leave.
	perUnit int
}

// types lists every event type the simulator produces, with the names of Teleport's
// lib/events/api.go.
var types = [typeCount]typeInfo{
	tUserLogin:           {"user.login", true, 1},
	tSessionStart:        {"session.start", true, 4},
	tSessionJoin:         {"session.join", true, 2},
	tSessionLeave:        {"session.leave", false, 0},
	tSessionEnd:          {"session.end", false, 0},
	tSessionUpload:       {"session.upload", false, 0},
	tExec:                {"exec", true, 1},
	tCertCreate:          {"cert.create", true, 1},
	tRoleCreated:         {"role.created", true, 1},
	tUserCreate:          {"user.create", true, 1},
	tAccessRequestCreate: {"access_request.create", true, 1},
	tDBQuery:             {"db.session.query", true, 1},
	tAppSessionStart:     {"app.session.start", true, 1},
	tKubeRequest:         {"kube.request", true, 1},
	tPort:                {"port", true, 1},
	tSFTP:                {"sftp", true, 1},
	tPrint:               {"print", false, 0},
	tResize:              {"resize", false, 0},
	tSessionData:         {"session.data", false, 0},
}

var typeByName = func() map[string]evType {
	m := make(map[string]evType, typeCount)
	for t := range typeCount {
		m[types[t].name] = t
	}
	return m
}()

// Event codes of Teleport's lib/events/codes.go.
const (
	codeUserLocalLogin        = "T1000I"
	codeUserLocalLoginFailure = "T1000W"
	codeUserSSOLogin          = "T1001I"
	codeUserSSOLoginFailure   = "T1001W"
	codeUserCreate            = "T1002I"
	codeSessionStart          = "T2000I"
	codeSessionJoin           = "T2001I"
	codeTerminalResize        = "T2002I"
	codeSessionLeave          = "T2003I"
	codeSessionEnd            = "T2004I"
	codeSessionUpload         = "T2005I"
	codeSessionData           = "T2006I"
	codeAppSessionStart       = "T2007I"
	codeExec                  = "T3002I"
	codeExecFailure           = "T3002E"
	codePortForward           = "T3003I"
	codePortForwardFailure    = "T3003E"
	codeKubeRequest           = "T3009I"
	codeAccessRequestCreate   = "T5000I"
	codeRoleCreated           = "T9000I"
	codeCertificateCreate     = "TC000I"
	codeDatabaseQuery         = "TDB02I"
	codeDatabaseQueryFailed   = "TDB02W"
)

// Fixed "ei" values of Teleport's lib/events/api.go: session.upload carries
// events.SessionUploadIndex (math.MaxInt32), the last event of a session, and session.data
// carries events.SessionDataIndex (math.MaxInt32 - 1).
const (
	sessionUploadIndex = 1<<31 - 1
	sessionDataIndex   = 1<<31 - 2
)
