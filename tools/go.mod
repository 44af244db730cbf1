module github.com/auditpipe/auditpipe/tools

go 1.26.0

require github.com/auditpipe/auditpipe/pkg v0.0.0

require (
	github.com/go-piv/piv-go v1.11.0 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	golang.org/x/term v0.46.0 // indirect
)

require (
	github.com/beevik/etree v1.3.0 // indirect
	github.com/coreos/go-semver v0.3.1 // indirect
	github.com/gogo/protobuf v1.3.2 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/gravitational/teleport/api v0.0.0-20250128104452-ecabf6b767ac // indirect
	github.com/gravitational/trace v1.4.0 // indirect
	github.com/jonboulle/clockwork v0.5.0 // indirect
	github.com/mattermost/xml-roundtrip-validator v0.1.0 // indirect
	github.com/russellhaering/gosaml2 v0.9.1 // indirect
	github.com/russellhaering/goxmldsig v1.4.0 // indirect
	golang.org/x/crypto v0.57.0 // indirect
	golang.org/x/exp v0.0.0-20250106191152-7588d65b2ba8 // indirect
	golang.org/x/net v0.58.0 // indirect
	golang.org/x/sync v0.25.0
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20250102185135-69823020774d // indirect
	google.golang.org/grpc v1.69.2 // indirect
	google.golang.org/protobuf v1.36.8 // indirect
)

replace github.com/auditpipe/auditpipe/pkg => ../pkg

// See pkg/go.mod: every version of the monolithic genproto is replaced by one without the
// packages that now live in their own modules, to avoid an ambiguous import.
replace google.golang.org/genproto => google.golang.org/genproto v0.0.0-20250102185135-69823020774d
