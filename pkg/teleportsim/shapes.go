package teleportsim

import (
	"fmt"
	"time"
)

// The shapes below follow the JSON of Teleport's api/types/events structs (field names from
// their json tags; "ei", "event" and "time" are always present, as they have no omitempty).

var (
	usersASCII = []string{
		"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
		"mike", "nina", "oscar", "peggy", "rupert", "sybil", "trent", "victor", "walter",
		"alice@example.com", "svc-deploy",
	}
	usersUnicode = []string{
		"józef.kowalski", "zoë.müller", "王伟", "мария.иванова", "ayşe.yılmaz", "ñandú",
		"😀-oncall", "søren.ærø",
	}
	loginsASCII   = []string{"root", "ubuntu", "ec2-user", "admin", "deploy", "postgres", "git"}
	loginsUnicode = []string{"jörg", "françois"}
	commandsASCII = []string{
		"ls -la /var/log", "systemctl restart nginx", "kubectl get pods -A", "df -h",
		"tail -n 100 /var/log/syslog", "cat /etc/os-release", "uptime",
		"sudo journalctl -u teleport --since '1 hour ago'",
		`grep -R "password" /etc/app/config.yaml`, `echo "done" && exit 0`,
		"printf 'a\\tb\\n' > /tmp/x", "docker ps --format '{{.Names}}' | head -n 5",
		"curl -s http://localhost:8080/health?verbose=1&format=json <<< ''",
	}
	commandsUnicode = []string{
		"echo 'Grüße aus München 🍺'", "cat ~/文档/报告.txt", "echo '🚀 deploy finished ✅'",
		"mkdir -p /srv/données/été", "grep -c 'ошибка' /var/log/app.log",
	}
	queriesASCII = []string{
		"SELECT * FROM users WHERE id = $1", "BEGIN", "COMMIT", "SELECT 1",
		"UPDATE orders SET status = 'shipped' WHERE id = 42",
		`INSERT INTO audit (msg) VALUES ('<b>login</b> & "quoted"')`,
		"SELECT id,\n  name\nFROM accounts\tWHERE balance < 10\nORDER BY id",
		"DELETE FROM sessions WHERE expires_at < now()",
	}
	queriesUnicode = []string{
		"SELECT * FROM clients WHERE name = 'Zoë Çelik'",
		"INSERT INTO notes VALUES ('日本語のメモ 📝')",
		"UPDATE cities SET name = 'Łódź' WHERE id = 7",
	}
	userAgents = []string{
		"tsh/17.2.1 (linux; amd64)", "tsh/16.4.8 (darwin; arm64)", "teleport-connect/17.1.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
	}
	roleNames     = []string{"access", "editor", "auditor", "dev", "db-readonly", "k8s-admin", "oncall"}
	loginMethods  = []string{"local", "local", "local", "github", "saml", "oidc"}
	ssoLoginError = map[string]string{
		"github": "failed to exchange GitHub OAuth code",
		"saml":   "received response with incorrect or missing attribute statements",
		"oidc":   "OIDC provider returned an error: access_denied",
	}
	kubeClusters   = []string{"prod-eu", "staging-us", "dev-local"}
	kubeNamespaces = []string{"default", "kube-system", "payments", "monitoring"}
	kubeResources  = []struct{ kind, group string }{
		{"pods", ""}, {"deployments", "apps"}, {"secrets", ""}, {"configmaps", ""},
		{"services", ""}, {"ingresses", "networking.k8s.io"},
	}
	kubeVerbs = []struct {
		verb string
		code int64
	}{{"get", 200}, {"list", 200}, {"watch", 200}, {"create", 201}, {"patch", 200}, {"delete", 200}, {"get", 404}, {"delete", 403}}
	databases = []struct{ service, protocol, uri, name, user string }{
		{"postgres-prod", "postgres", "postgres-prod.cluster-abc.eu-west-1.rds.amazonaws.com:5432", "orders", "app_rw"},
		{"mysql-analytics", "mysql", "10.0.7.21:3306", "analytics", "readonly"},
		{"mongo-events", "mongodb", "mongodb+srv://events.abc12.mongodb.net", "events", "reporter"},
	}
	apps = []struct{ name, uri, public string }{
		{"grafana", "http://grafana.monitoring.svc:3000", "grafana.teleport.example.com"},
		{"jenkins", "http://10.0.3.14:8080", "jenkins.teleport.example.com"},
		{"argocd", "https://argocd-server.argocd.svc", "argocd.teleport.example.com"},
	}
	sftpActions = []struct {
		action int64
		code   string
	}{{1, "TS001I"}, {9, "TS009I"}, {10, "TS010I"}, {11, "TS011I"}, {12, "TS012I"}, {16, "TS016I"}, {7, "TS007I"}}
	forwardTargets = []string{"127.0.0.1:5432", "localhost:8080", "10.0.4.2:6379", "db.internal:3306"}
)

// person draws a Teleport user name; with Options.Unicode some are non-ASCII.
func (l *Log) person(r *rng) string {
	if l.opts.Unicode && r.chance(0.2) {
		return pick(r, usersUnicode)
	}
	return pick(r, usersASCII)
}

// login draws an OS login.
func (l *Log) login(r *rng) string {
	if l.opts.Unicode && r.chance(0.1) {
		return pick(r, loginsUnicode)
	}
	return pick(r, loginsASCII)
}

func (l *Log) command(r *rng) string {
	if l.opts.Unicode && r.chance(0.3) {
		return pick(r, commandsUnicode)
	}
	return pick(r, commandsASCII)
}

func (l *Log) query(r *rng) string {
	if l.opts.Unicode && r.chance(0.3) {
		return pick(r, queriesUnicode)
	}
	return pick(r, queriesASCII)
}

var ipPrefixes = []string{"203.0.113", "198.51.100", "192.0.2"}

// clientIP draws a client IP address from the documentation ranges.
func clientIP(r *rng) string {
	return fmt.Sprintf("%s.%d", pick(r, ipPrefixes), r.between(1, 254))
}

// remoteAddr draws a client address (IP and ephemeral port).
func remoteAddr(r *rng) string {
	return fmt.Sprintf("%s:%d", clientIP(r), r.between(30000, 65000))
}

// server is one SSH node of the simulated cluster.
type server struct {
	id, hostname, addr, env, team string
}

// newServers returns the nodes of the simulated cluster, a function of the seed.
func newServers(seed int64, unicode bool) []server {
	teams := []string{"platform", "payments", "data"}
	if unicode {
		teams = append(teams, "données", "開発")
	}
	out := make([]server, 24)
	for i := range out {
		r := newRNG(seed, rngServer, uint64(i))
		out[i] = server{
			id:       r.uuid(),
			hostname: fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", i/8, r.between(2, 250)),
			addr:     fmt.Sprintf("10.0.%d.%d:3022", i/8, r.between(2, 250)),
			env:      pick(r, []string{"prod", "prod", "staging"}),
			team:     pick(r, teams),
		}
	}
	return out
}

// builder renders one event: a canonical JSON object plus the Event fields parsed from it.
type builder struct {
	object
	ev Event
}

// head adds the fields of Teleport's events.Metadata.
func (b *builder) head(l *Log, t evType, code, uid string, ei, at int64) {
	ts := time.Unix(0, at).UTC()
	b.int("ei", ei)
	b.str("event", types[t].name)
	if uid != "" {
		b.str("uid", uid)
	}
	if code != "" {
		b.str("code", code)
	}
	b.time("time", ts)
	b.str("cluster_name", l.opts.ClusterName)
	b.ev.Type, b.ev.UID, b.ev.Index, b.ev.Time = types[t].name, uid, ei, ts
}

func (b *builder) sid(sid string) {
	b.str("sid", sid)
	b.ev.SessionID = sid
}

// human adds the fields of events.UserMetadata for a human user.
func (b *builder) human(user string) {
	b.str("user", user)
	b.int("user_kind", 1) // USER_KIND_HUMAN
}

// node adds the fields of events.ServerMetadata.
func (b *builder) node(s server) {
	b.str("server_id", s.id)
	b.str("server_hostname", s.hostname)
	b.str("namespace", "default")
	b.labels("server_labels", "env", s.env, "team", s.team)
}

func (b *builder) done(kind Kind) Event {
	b.ev.Kind = kind
	b.ev.JSON = b.bytes()
	return b.ev
}

// renderStandalone renders an audit event that belongs to no session or burst: its content is
// a function of (seed, m.gen) and m.
func (l *Log) renderStandalone(m meta) Event {
	r := newRNG(l.opts.Seed, rngEvent, uint64(m.gen))
	uid := r.uuid()
	at := time.Unix(0, m.t).UTC()
	var b builder
	switch m.typ {
	case tUserLogin:
		user, method := l.person(r), pick(r, loginMethods)
		ok := !r.chance(0.12)
		code := loginCode(method, ok)
		b.head(l, m.typ, code, uid, 0, m.t)
		b.str("user", user)
		b.str("method", method)
		b.bool("success", ok)
		if !ok {
			msg := ssoLoginError[method]
			if method == "local" {
				msg = "invalid username, password or second factor"
			}
			b.str("error", msg)
		}
		b.str("user_agent", pick(r, userAgents))
		b.str("addr.remote", remoteAddr(r))
	case tExec:
		user, login, srv := l.person(r), l.login(r), pick(r, l.servers)
		cmd := l.command(r)
		switch {
		case m.flags&flagHuge != 0:
			cmd = l.bulkyCommand(r, r.between(1100<<10, 1900<<10))
		case m.flags&flagLarge != 0:
			cmd = l.bulkyCommand(r, r.between(150<<10, 700<<10))
		}
		exit := pick(r, []string{"0", "0", "0", "0", "1", "127"})
		code := codeExec
		if exit != "0" {
			code = codeExecFailure
		}
		b.head(l, m.typ, code, uid, 0, m.t)
		b.human(user)
		b.str("login", login)
		b.sid(r.uuid())
		b.node(srv)
		b.str("addr.local", srv.addr)
		b.str("addr.remote", remoteAddr(r))
		b.str("proto", "ssh")
		b.str("command", cmd)
		b.str("exitCode", exit)
		if exit != "0" {
			b.str("exitError", "exit status "+exit)
		}
	case tCertCreate:
		user := l.person(r)
		b.head(l, m.typ, codeCertificateCreate, uid, 0, m.t)
		b.str("cert_type", "user")
		var id object
		id.str("user", user)
		id.strs("roles", []string{pick(r, roleNames), "access"})
		id.strs("logins", []string{l.login(r), "-teleport-internal-join"})
		id.time("expires", at.Add(12*time.Hour))
		id.time("prev_identity_expires", time.Time{})
		id.str("route_to_cluster", l.opts.ClusterName)
		id.str("teleport_cluster", l.opts.ClusterName)
		id.str("client_ip", clientIP(r))
		id.str("private_key_policy", "none")
		b.raw("identity", id.bytes())
		b.str("user_agent", pick(r, userAgents))
	case tRoleCreated:
		b.head(l, m.typ, codeRoleCreated, uid, 0, m.t)
		b.str("name", pick(r, roleNames)+fmt.Sprintf("-%d", r.intn(100)))
		b.time("expires", time.Time{})
		b.human(l.person(r))
		b.str("addr.remote", remoteAddr(r))
	case tUserCreate:
		b.head(l, m.typ, codeUserCreate, uid, 0, m.t)
		b.str("name", l.person(r)+fmt.Sprintf("%d", r.intn(1000)))
		b.time("expires", time.Time{})
		b.strs("roles", []string{pick(r, roleNames)})
		b.str("connector", pick(r, []string{"local", "github", "okta"}))
		b.human(l.person(r))
		b.str("addr.remote", remoteAddr(r))
	case tAccessRequestCreate:
		b.head(l, m.typ, codeAccessRequestCreate, uid, 0, m.t)
		b.human(l.person(r))
		b.str("id", r.uuid())
		b.str("state", "PENDING")
		b.strs("roles", []string{pick(r, roleNames)})
		b.str("reason", pick(r, []string{"INC-4411: debug payment failures", "rotate TLS certs", "on-call"}))
		b.time("expires", at.Add(time.Hour))
		b.time("max_duration", at.Add(24*time.Hour))
	case tDBQuery:
		db := pick(r, databases)
		q := l.query(r)
		if m.flags&flagLarge != 0 {
			q = "INSERT INTO blobs (id, data) VALUES (1, '" + string(r.text(nil, r.between(150<<10, 700<<10))) + "')"
		}
		ok := !r.chance(0.05)
		code := codeDatabaseQuery
		if !ok {
			code = codeDatabaseQueryFailed
		}
		b.head(l, m.typ, code, uid, 0, m.t)
		b.human(l.person(r))
		b.sid(r.uuid())
		b.str("db_service", db.service)
		b.str("db_protocol", db.protocol)
		b.str("db_uri", db.uri)
		b.str("db_name", db.name)
		b.str("db_user", db.user)
		b.str("db_query", q)
		b.bool("success", ok)
		if !ok {
			b.str("error", "permission denied for table "+db.name)
		}
	case tAppSessionStart:
		app, srv := pick(r, apps), pick(r, l.servers)
		b.head(l, m.typ, codeAppSessionStart, uid, 0, m.t)
		b.human(l.person(r))
		b.sid(r.uuid())
		b.str("server_id", srv.id)
		b.str("namespace", "default")
		b.str("addr.remote", remoteAddr(r))
		b.str("public_addr", app.public)
		b.str("app_name", app.name)
		b.str("app_uri", app.uri)
		b.str("app_public_addr", app.public)
	case tKubeRequest:
		res, verb := pick(r, kubeResources), pick(r, kubeVerbs)
		ns, cluster := pick(r, kubeNamespaces), pick(r, kubeClusters)
		name := fmt.Sprintf("web-%x", r.uint64()&0xffffff)
		path := "/api/v1/namespaces/" + ns + "/" + res.kind + "/" + name
		if res.group != "" {
			path = "/apis/" + res.group + "/v1/namespaces/" + ns + "/" + res.kind + "/" + name
		}
		b.head(l, m.typ, codeKubeRequest, uid, 0, m.t)
		b.human(l.person(r))
		b.str("server_id", pick(r, l.servers).id)
		b.str("addr.remote", remoteAddr(r))
		b.str("proto", "kube")
		b.str("request_path", path)
		b.str("verb", verb.verb)
		if res.group != "" {
			b.str("resource_api_group", res.group)
		}
		b.str("resource_namespace", ns)
		b.str("resource_kind", res.kind)
		b.str("resource_name", name)
		b.int("response_code", verb.code)
		b.str("kubernetes_cluster", cluster)
		b.strs("kubernetes_groups", []string{"system:authenticated", pick(r, roleNames)})
		b.strs("kubernetes_users", []string{"teleport-" + cluster})
	case tPort:
		ok := !r.chance(0.05)
		code := codePortForward
		if !ok {
			code = codePortForwardFailure
		}
		srv := pick(r, l.servers)
		b.head(l, m.typ, code, uid, 0, m.t)
		b.human(l.person(r))
		b.str("login", l.login(r))
		b.str("addr.local", srv.addr)
		b.str("addr.remote", remoteAddr(r))
		b.str("addr", pick(r, forwardTargets))
		b.bool("success", ok)
		if !ok {
			b.str("error", "connection refused")
		}
	case tSFTP:
		act, srv, login := pick(r, sftpActions), pick(r, l.servers), l.login(r)
		dir := "/home/" + login
		b.head(l, m.typ, act.code, uid, 0, m.t)
		b.human(l.person(r))
		b.str("login", login)
		b.sid(r.uuid())
		b.node(srv)
		b.str("addr.local", srv.addr)
		b.str("addr.remote", remoteAddr(r))
		b.str("proto", "ssh")
		b.str("working_directory", dir)
		b.str("path", dir+"/"+pick(r, []string{"report.csv", "backup.tar.gz", ".bashrc", "upload"}))
		b.int("action", act.action)
		switch act.action {
		case 1:
			b.int("flags", 26) // SSH_FXF_WRITE|SSH_FXF_CREAT|SSH_FXF_TRUNC
		case 16:
			b.str("target_path", dir+"/renamed.txt")
		}
	}
	return b.done(KindAudit)
}

// bulkyCommand returns a shell command of about n bytes, as a pasted script would be.
func (l *Log) bulkyCommand(r *rng, n int) string {
	buf := make([]byte, 0, n+64)
	buf = append(buf, "echo '"...)
	buf = r.text(buf, n)
	buf = append(buf, "' | base64 -d > /tmp/payload.bin"...)
	return string(buf)
}

// loginCode returns the code of a user.login event.
func loginCode(method string, ok bool) string {
	switch {
	case method == "local" && ok:
		return codeUserLocalLogin
	case method == "local":
		return codeUserLocalLoginFailure
	case ok:
		return codeUserSSOLogin
	default:
		return codeUserSSOLoginFailure
	}
}
