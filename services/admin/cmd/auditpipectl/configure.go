package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// hostResolver resolves a host name; *net.Resolver is one. Tests use a fake.
type hostResolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// lookupTimeout bounds the resolution of one --dns-names entry.
const lookupTimeout = 10 * time.Second

// configureCmd is `auditpipectl configure [out] [teleport-addr]`.
type configureCmd struct {
	Out          string        `arg:"" optional:"" default:"./auditpipe-config" help:"Directory to write into (created if missing)." placeholder:"OUT"`
	TeleportAddr string        `arg:"" optional:"" name:"teleport-addr" default:"localhost:3025" help:"Teleport's Proxy (host:443) or Auth Service (host:3025)." placeholder:"TELEPORT-ADDR"`
	CN           string        `name:"cn" default:"localhost" help:"Common name of Fluentd's server certificate: the host auditpipe dials (forward.fluentd.url); also a SAN."`
	DNSNames     []string      `name:"dns-names" default:"localhost" help:"More names (or IPs) of Fluentd's server certificate, comma-separated; each name must resolve." placeholder:"NAME"`
	TTL          time.Duration `name:"ttl" default:"8760h" help:"How long the certificates are valid."`
	Force        bool          `help:"Overwrite files that exist (new CA and keys: the old certificates stop working together)."`
}

// Names of what configure writes.
const (
	fileCA          = "ca.crt"
	fileCAKey       = "ca.key"
	fileServerCert  = "server.crt"
	fileServerKey   = "server.key"
	fileClientCert  = "client.crt"
	fileClientKey   = "client.key"
	fileRole        = "teleport-role.yaml"
	fileFluentConf  = "fluent.conf"
	fileConfig      = "auditpipe.toml"
	fileEnv         = ".env"
	fileHelmValues  = "helm-values.yaml"
	fileAdminTokens = "admin-tokens"
	fileAdminToken  = "admin.token"
	// fileIdentity is not written: the user signs it with tctl into this name.
	fileIdentity = "identity"

	teleportUser = "auditpipe"
	fluentdPort  = 8888
)

// outFile is one file configure writes.
type outFile struct {
	name string
	mode fs.FileMode
	data []byte
	what string
}

func (c *configureCmd) Run(a *app) error {
	if err := c.check(); err != nil {
		return err
	}
	dir, err := filepath.Abs(c.Out)
	if err != nil {
		return fmt.Errorf("out %s: %w", c.Out, err)
	}
	dnsNames, ips, err := c.sans(a.ctx, a.resolver)
	if err != nil {
		return err
	}
	files, err := c.files(dir, dnsNames, ips, a.now())
	if err != nil {
		return err
	}
	if err := writeAll(dir, files, c.Force); err != nil {
		return err
	}
	c.report(a, files)
	return nil
}

// check validates the arguments before anything is made.
func (c *configureCmd) check() error {
	var errs []error
	host, port, err := net.SplitHostPort(c.TeleportAddr)
	if err != nil || host == "" || port == "" {
		errs = append(errs, fmt.Errorf("teleport-addr %q: want host:port, e.g. teleport.example.com:443", c.TeleportAddr))
	}
	if c.TTL <= 0 {
		errs = append(errs, fmt.Errorf("--ttl must be positive, got %s", c.TTL))
	}
	if strings.TrimSpace(c.CN) == "" {
		errs = append(errs, errors.New("--cn must not be empty"))
	}
	return errors.Join(errs...)
}

// sans are the server certificate's names: --cn, then every --dns-names entry (each name
// resolved: a name that does not resolve is an error), IPs apart, without repeats.
func (c *configureCmd) sans(ctx context.Context, r hostResolver) (dns []string, ips []net.IP, err error) {
	add := func(name string) {
		if ip := net.ParseIP(name); ip != nil {
			if !slices.ContainsFunc(ips, ip.Equal) {
				ips = append(ips, ip)
			}
			return
		}
		if !slices.Contains(dns, name) {
			dns = append(dns, name)
		}
	}
	add(strings.TrimSpace(c.CN))
	var failed []error
	for _, name := range c.DNSNames {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if net.ParseIP(name) == nil {
			lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
			addrs, err := r.LookupHost(lctx, name)
			cancel()
			if err == nil && len(addrs) == 0 {
				err = errors.New("no addresses")
			}
			if err != nil {
				failed = append(failed, fmt.Errorf("--dns-names %s does not resolve: %w", name, err))
				continue
			}
		}
		add(name)
	}
	if len(failed) > 0 {
		return nil, nil, errors.Join(failed...)
	}
	return dns, ips, nil
}

// files makes every file's content: the certificates, the tokens and the configurations.
func (c *configureCmd) files(dir string, dnsNames []string, ips []net.IP, now time.Time) ([]outFile, error) {
	set, err := newMTLS(certRequest{
		ServerCN:  strings.TrimSpace(c.CN),
		ServerDNS: dnsNames,
		ServerIPs: ips,
		ClientCN:  teleportUser,
		// A minute back, for clocks a little behind this one.
		NotBefore: now.Add(-time.Minute).UTC().Truncate(time.Second),
		TTL:       c.TTL,
	})
	if err != nil {
		return nil, err
	}
	token, err := newToken()
	if err != nil {
		return nil, err
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	d := configData{
		Version:             version,
		TeleportAddr:        c.TeleportAddr,
		User:                teleportUser,
		Role:                teleportUser,
		FluentdHost:         urlHost(strings.TrimSpace(c.CN)),
		FluentdPort:         fluentdPort,
		CA:                  path(fileCA),
		CAKey:               path(fileCAKey),
		ServerCert:          path(fileServerCert),
		ServerKey:           path(fileServerKey),
		ClientCert:          path(fileClientCert),
		ClientKey:           path(fileClientKey),
		Identity:            path(fileIdentity),
		AdminTokens:         path(fileAdminTokens),
		ImageTag:            version,
		SecretIdentity:      "auditpipe-teleport-identity",
		SecretFluentdClient: "auditpipe-fluentd-client",
		SecretAdminTokens:   "auditpipe-admin-tokens",
	}
	files := []outFile{
		{fileCA, 0o644, set.CA.CertPEM, "CA certificate of the Fluentd mTLS"},
		{fileCAKey, 0o600, set.CA.KeyPEM, "CA key (keep it offline; it signs new certificates)"},
		{fileServerCert, 0o644, set.Server.CertPEM, "Fluentd's server certificate (" + strings.Join(sanList(dnsNames, ips), ", ") + ")"},
		{fileServerKey, 0o600, set.Server.KeyPEM, "Fluentd's server key"},
		{fileClientCert, 0o644, set.Client.CertPEM, "auditpipe's client certificate for Fluentd"},
		{fileClientKey, 0o600, set.Client.KeyPEM, "auditpipe's client key"},
	}
	for _, t := range []struct {
		name string
		mode fs.FileMode
		what string
	}{
		{fileRole, 0o644, "Teleport role and user " + teleportUser + " (event and session: list, read)"},
		{fileFluentConf, 0o644, "Fluentd: mTLS in_http on :8888, a Datadog example, stdout"},
		{fileConfig, 0o644, "auditpipe configuration for ingest, shipper and admin"},
		{fileEnv, 0o600, "variables for deploy/compose"},
		{fileHelmValues, 0o644, "values for the Helm chart deploy/helm/auditpipe"},
	} {
		data, err := render(t.name, d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
		files = append(files, outFile{t.name, t.mode, data, t.what})
	}
	files = append(files,
		outFile{fileAdminTokens, 0o600, []byte("# auditpipe-admin's bearer tokens (admin.tokens-file): \"<read|admin> <token>\" per line.\nadmin " + token + "\n"),
			"admin API tokens (admin.tokens-file)"},
		outFile{fileAdminToken, 0o600, []byte(token + "\n"), "the admin token alone, for auditpipectl --token-file"},
	)
	return files, nil
}

// urlHost is host as it goes in a URL: an IPv6 address in brackets.
func urlHost(host string) string {
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		return "[" + host + "]"
	}
	return host
}

func sanList(dns []string, ips []net.IP) []string {
	out := slices.Clone(dns)
	for _, ip := range ips {
		out = append(out, ip.String())
	}
	return out
}

// newToken is a random bearer token: 32 bytes, hex.
func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// writeAll writes files into dir (made if missing), each with its mode. Without force it
// writes nothing when any of them exists.
func writeAll(dir string, files []outFile, force bool) error {
	if info, err := os.Stat(dir); err == nil && !info.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if !force {
		var exist []string
		for _, f := range files {
			if _, err := os.Lstat(filepath.Join(dir, f.name)); err == nil {
				exist = append(exist, f.name)
			}
		}
		if len(exist) > 0 {
			return fmt.Errorf("%s already holds %s: nothing written (--force overwrites them, with a new CA)",
				dir, strings.Join(exist, ", "))
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(dir, f.name), f.data, f.mode, force); err != nil {
			return err
		}
	}
	return nil
}

// writeFile writes data to path with mode exactly (whatever the umask). Without force it
// fails if path exists; with force it replaces the file by rename, so a reader never sees it
// half written and a key never has an old, wider mode.
func writeFile(path string, data []byte, mode fs.FileMode, force bool) error {
	if !force {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err != nil {
			return err
		}
		return finish(f, data, mode)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if err := finish(f, data, mode); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	return nil
}

func finish(f *os.File, data []byte, mode fs.FileMode) error {
	_, err := f.Write(data)
	err = errors.Join(err, f.Chmod(mode), f.Close())
	if err != nil {
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	return nil
}

// report prints what was written and what to do next.
func (c *configureCmd) report(a *app, files []outFile) {
	w := a.stdout
	out := filepath.Clean(c.Out)
	p := func(name string) string { return filepath.Join(out, name) }
	fmt.Fprintf(w, "Wrote %s (certificates valid until %s):\n", out, fmtTime(a.now().Add(-time.Minute).Add(c.TTL)))
	t := newTable(w)
	for _, f := range files {
		fmt.Fprintf(t, "  %s\t%s\t%s\n", f.name, f.mode, f.what)
	}
	_ = t.Flush()
	fmt.Fprintf(w, `
Next steps:
  1. Create the Teleport role and user:
       tctl create -f %[1]s
  2. Sign the user's identity file where auditpipe.toml expects it (or have Machine ID's tbot
     write and renew it there):
       tctl auth sign --user=%[2]s --out=%[3]s
  3. Start Fluentd with %[4]s (its source reads %[5]s, %[6]s and %[7]s).
  4. Check the configuration, then run auditpipe with it (and Redis and NATS JetStream):
       auditpipectl validate-config --config %[8]s
       auditpipe-ingest --config %[8]s
       auditpipe-shipper --config %[8]s --set metrics.listen=:9091
       auditpipe-admin --config %[8]s --set metrics.listen=:9092
       auditpipectl --token-file %[9]s status

With docker compose (deploy/compose; the server certificate must name the host the shipper
dials there, fluentd: configure --cn fluentd):
  mkdir -p deploy/compose/secrets/fluentd deploy/compose/secrets/teleport
  cp %[5]s %[6]s %[7]s %[10]s %[11]s deploy/compose/secrets/fluentd/
  cp %[12]s deploy/compose/secrets/admin-tokens
  cp %[13]s deploy/compose/.env
  tctl auth sign --user=%[2]s --out=deploy/compose/secrets/teleport/identity

With Helm (deploy/helm/auditpipe):
  kubectl create secret generic auditpipe-fluentd-client --from-file=ca.crt=%[5]s --from-file=tls.crt=%[10]s --from-file=tls.key=%[11]s
  kubectl create secret generic auditpipe-admin-tokens --from-file=tokens=%[12]s
  kubectl create secret generic auditpipe-teleport-identity --from-file=identity=%[3]s
  helm install auditpipe deploy/helm/auditpipe -f %[14]s
`,
		p(fileRole), teleportUser, p(fileIdentity), p(fileFluentConf),
		p(fileCA), p(fileServerCert), p(fileServerKey),
		p(fileConfig), p(fileAdminToken),
		p(fileClientCert), p(fileClientKey), p(fileAdminTokens), p(fileEnv), p(fileHelmValues))
}
