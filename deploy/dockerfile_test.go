package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// dockerfiles are the images: Dockerfile -> the binary its ENTRYPOINT runs, and the ports it
// exposes.
var dockerfiles = map[string]struct {
	entrypoint string
	expose     []string
}{
	"services/ingest/Dockerfile":    {"auditpipe-ingest", []string{"9090"}},
	"services/shipper/Dockerfile":   {"auditpipe-shipper", []string{"9090"}},
	"services/admin/Dockerfile":     {"auditpipe-admin", []string{"8080", "9090"}},
	"tools/teleport-sim/Dockerfile": {"teleport-sim", []string{"3025"}},
}

// goBuild matches the binaries a RUN builds: `go build … -o /out/NAME ./PACKAGE`.
var goBuild = regexp.MustCompile(`-o /out/(\S+) (\./\S+)`)

// parseDockerfile parses a Dockerfile with BuildKit's own parser, failing on any warning of
// the parser or of BuildKit's build checks (what `docker build --check` reports).
func parseDockerfile(t *testing.T, path string) []instructions.Stage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ast, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, w := range ast.Warnings {
		t.Errorf("%s: parser: %s", path, w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []parser.Range) {
		t.Errorf("%s: build check %s: %s (%v)", path, rule, msg, loc)
	}})
	stages, _, err := instructions.Parse(ast.AST, lint)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return stages
}

// TestDockerfiles checks every image's Dockerfile: a Go build stage, then a distroless
// nonroot image holding the binaries it built from packages that exist, entered through one
// of them in exec form.
func TestDockerfiles(t *testing.T) {
	root := repoRoot(t)
	for file, want := range dockerfiles {
		t.Run(file, func(t *testing.T) {
			stages := parseDockerfile(t, filepath.Join(root, file))
			if len(stages) != 2 {
				t.Fatalf("%d stages, want build and the image", len(stages))
			}
			build, final := stages[0], stages[1]
			if build.Name != "build" || !strings.HasPrefix(build.BaseName, "golang:1.26") {
				t.Errorf("first stage %q FROM %s, want build FROM golang:1.26 (go.work's version)", build.Name, build.BaseName)
			}
			if final.BaseName != "gcr.io/distroless/static-debian12:nonroot" {
				t.Errorf("image FROM %s, want gcr.io/distroless/static-debian12:nonroot", final.BaseName)
			}

			built := map[string]bool{}
			for _, cmd := range build.Commands {
				run, ok := cmd.(*instructions.RunCommand)
				if !ok {
					continue
				}
				line := strings.Join(run.CmdLine, " ")
				for _, m := range goBuild.FindAllStringSubmatch(line, -1) {
					built[m[1]] = true
					if !strings.Contains(line, "CGO_ENABLED=0") {
						t.Errorf("%s is built with cgo; distroless/static has no libc", m[1])
					}
					if err := isMainPackage(filepath.Join(root, m[2])); err != nil {
						t.Errorf("go build %s: %v", m[2], err)
					}
				}
			}
			if !built[want.entrypoint] {
				t.Errorf("the build stage builds %v, not %s", built, want.entrypoint)
			}

			copied := map[string]bool{}
			var user string
			var entrypoint []string
			var exposed []string
			for _, cmd := range final.Commands {
				switch c := cmd.(type) {
				case *instructions.CopyCommand:
					if c.From != "build" {
						t.Errorf("COPY %v from %q: the image takes only what the build stage made", c.SourcePaths, c.From)
					}
					for _, src := range c.SourcePaths {
						if name, ok := strings.CutPrefix(src, "/out/"); ok && built[name] {
							copied[name] = true
							if want := "/usr/local/bin/" + name; c.DestPath != want {
								t.Errorf("%s copied to %s, want %s", name, c.DestPath, want)
							}
						}
					}
				case *instructions.UserCommand:
					user = c.User
				case *instructions.EntrypointCommand:
					if c.PrependShell {
						t.Errorf("ENTRYPOINT %v in shell form: there is no shell", c.CmdLine)
					}
					entrypoint = c.CmdLine
				case *instructions.ExposeCommand:
					exposed = append(exposed, c.Ports...)
				case *instructions.RunCommand:
					t.Errorf("RUN %v in the distroless image, which has no shell", c.CmdLine)
				}
			}
			for name := range built {
				if !copied[name] {
					t.Errorf("%s is built but not copied into the image", name)
				}
			}
			if user != "nonroot:nonroot" {
				t.Errorf("USER %q, want nonroot:nonroot", user)
			}
			if !slices.Equal(entrypoint, []string{"/usr/local/bin/" + want.entrypoint}) {
				t.Errorf("ENTRYPOINT %v, want [/usr/local/bin/%s]", entrypoint, want.entrypoint)
			}
			slices.Sort(exposed)
			if !slices.Equal(exposed, want.expose) {
				t.Errorf("EXPOSE %v, want %v", exposed, want.expose)
			}
		})
	}
}

// TestMakeImages checks that `make images` builds every Dockerfile under the names compose.yaml
// and the chart use.
func TestMakeImages(t *testing.T) {
	root := repoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	images := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s+([a-z-]+)=(\S+/Dockerfile)`).FindAllStringSubmatch(string(data), -1) {
		images[m[2]] = m[1]
	}
	for file, want := range dockerfiles {
		if images[file] != want.entrypoint {
			t.Errorf("Makefile IMAGES builds %s as %q, want %s", file, images[file], want.entrypoint)
		}
	}
	if !strings.Contains(string(data), "\nimages:") || !strings.Contains(string(data), "\nhelm-lint:") {
		t.Error("the Makefile has no images or helm-lint target")
	}
}

// isMainPackage reports whether dir holds a main package.
func isMainPackage(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return err
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if regexp.MustCompile(`(?m)^package main$`).Match(data) {
			return nil
		}
	}
	return fmt.Errorf("%s holds no main package", dir)
}
