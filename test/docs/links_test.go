// Package docs checks the repository's Markdown documentation as GitHub renders it: every
// relative link (and every link into this repository on github.com) names a file or directory
// that exists, and every #fragment names a heading or an HTML anchor of its target, with the
// anchors GitHub gives headings.
package docs

import (
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// repoRoot is the repository's root, from test/docs.
var repoRoot = filepath.Join("..", "..")

// repoURL is this repository on GitHub: links to its blob/ and tree/ pages of main are
// checked like relative links (the alerts' runbook_url links, say).
const repoURL = "https://github.com/auditpipe/auditpipe/"

// skipDirs are directories whose Markdown is not documentation.
var skipDirs = map[string]bool{".git": true, "node_modules": true, "bin": true, "vendor": true}

// TestMarkdownLinks: every link of every *.md file of the repository resolves.
func TestMarkdownLinks(t *testing.T) {
	files, err := markdownFiles(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found %d Markdown files under %s, want the README and docs/ at least", len(files), repoRoot)
	}
	c := newChecker(repoRoot)
	for _, f := range files {
		for _, problem := range c.checkFile(f) {
			t.Error(problem)
		}
	}
	t.Logf("checked %d links in %d Markdown files", c.checked, len(files))
}

// markdownFiles returns the *.md files under root, as paths relative to root with slashes.
func markdownFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && skipDirs[d.Name()] {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".md") {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	return files, err
}

// checker checks links against the files under root. It caches each Markdown file's anchors.
type checker struct {
	root    string
	anchors map[string]map[string]bool // by file, relative to root
	checked int                        // links checked so far
}

func newChecker(root string) *checker {
	return &checker{root: root, anchors: map[string]map[string]bool{}}
}

// checkFile returns a problem, "file:line: …", for every link of the Markdown file rel
// (relative to the root) that does not resolve.
func (c *checker) checkFile(rel string) []string {
	data, err := os.ReadFile(filepath.Join(c.root, filepath.FromSlash(rel)))
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", rel, err)}
	}
	var problems []string
	for _, l := range extractLinks(string(data)) {
		c.checked++
		if msg := c.checkLink(rel, l.target); msg != "" {
			problems = append(problems, fmt.Sprintf("%s:%d: link %q: %s", rel, l.line, l.target, msg))
		}
	}
	return problems
}

// lineAnchor is GitHub's line anchor of a file that is not Markdown: #L12, #L12-L20.
var lineAnchor = regexp.MustCompile(`^L[0-9]+(C[0-9]+)?(-L[0-9]+(C[0-9]+)?)?$`)

// checkLink returns why target, a link in the Markdown file from, does not resolve, or "".
func (c *checker) checkLink(from, target string) string {
	if rest, ok := strings.CutPrefix(target, repoURL); ok {
		kind, p, _ := strings.Cut(rest, "/")
		branch, p, _ := strings.Cut(p, "/")
		if (kind != "blob" && kind != "tree") || branch != "main" {
			return "" // another page of the repository: issues, pull requests, other branches
		}
		target = "/" + p
	}
	u, err := url.Parse(target)
	switch {
	case err != nil:
		return fmt.Sprintf("not a URL: %v", err)
	case u.Scheme != "" || u.Host != "" || strings.HasPrefix(target, "//"):
		return "" // external: not checked
	case target == "":
		return "empty link"
	}
	file := from
	if u.Path != "" {
		if strings.HasPrefix(u.Path, "/") {
			file = path.Clean(strings.TrimPrefix(u.Path, "/")) // GitHub: the repository's root
		} else {
			file = path.Join(path.Dir(from), u.Path)
		}
		if file == ".." || strings.HasPrefix(file, "../") {
			return "points outside the repository"
		}
		info, err := os.Stat(filepath.Join(c.root, filepath.FromSlash(file)))
		if err != nil {
			return "no such file or directory: " + file
		}
		if info.IsDir() {
			if u.Fragment != "" || strings.HasSuffix(target, "#") {
				return "a #fragment on a directory"
			}
			return ""
		}
	}
	if u.Fragment == "" {
		if strings.HasSuffix(target, "#") {
			return "empty #fragment"
		}
		return ""
	}
	if !strings.HasSuffix(file, ".md") {
		if lineAnchor.MatchString(u.Fragment) {
			return ""
		}
		return fmt.Sprintf("#%s: %s is not Markdown; only line anchors (#L12) are checked", u.Fragment, file)
	}
	anchors, err := c.anchorsOf(file)
	if err != nil {
		return err.Error()
	}
	if !anchors[u.Fragment] {
		return fmt.Sprintf("%s has no heading or anchor #%s%s", file, u.Fragment, nearAnchors(anchors, u.Fragment))
	}
	return ""
}

// nearAnchors suggests the anchors that share the fragment's first word, for the error.
func nearAnchors(anchors map[string]bool, fragment string) string {
	first, _, _ := strings.Cut(fragment, "-")
	var near []string
	for a := range anchors {
		if strings.HasPrefix(a, first) {
			near = append(near, "#"+a)
		}
	}
	if len(near) == 0 || len(near) > 8 {
		return ""
	}
	slices.Sort(near)
	return " (it has " + strings.Join(near, ", ") + ")"
}

// anchorsOf returns the anchors of the Markdown file rel, cached.
func (c *checker) anchorsOf(rel string) (map[string]bool, error) {
	if a, ok := c.anchors[rel]; ok {
		return a, nil
	}
	data, err := os.ReadFile(filepath.Join(c.root, filepath.FromSlash(rel)))
	if err != nil {
		return nil, err
	}
	a := markdownAnchors(string(data))
	c.anchors[rel] = a
	return a, nil
}

// link is one link target found in a Markdown document, with its line (1-based).
type link struct {
	line   int
	target string
}

// fence opens or closes a fenced code block: three or more backticks or tildes, indented by
// at most three spaces.
var fence = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})")

// proseLines returns the lines of doc that are not in fenced or indented code blocks, with
// their numbers; the other lines are returned empty, so that numbers stay right.
func proseLines(doc string) []string {
	lines := strings.Split(doc, "\n")
	out := make([]string, len(lines))
	open := "" // the fence that opened the code block we are in
	prevBlank := true
	for i, line := range lines {
		line = strings.TrimSuffix(line, "\r")
		if open != "" {
			if m := fence.FindStringSubmatch(line); m != nil && m[1][0] == open[0] && len(m[1]) >= len(open) &&
				strings.TrimSpace(line[len(m[0]):]) == "" {
				open = ""
			}
			prevBlank = false
			continue
		}
		if m := fence.FindStringSubmatch(line); m != nil {
			open = m[1]
			prevBlank = false
			continue
		}
		// An indented code block starts only after a blank line (it cannot interrupt a
		// paragraph or continue a list item, which the docs indent by two spaces at most).
		if prevBlank && strings.HasPrefix(line, "    ") && !isListContinuation(lines, i) {
			continue
		}
		prevBlank = strings.TrimSpace(line) == ""
		out[i] = line
	}
	return out
}

// isListContinuation reports whether the indented line i belongs to a list item above it
// (a nested list or a paragraph of the item), not to an indented code block.
func isListContinuation(lines []string, i int) bool {
	for j := i - 1; j >= 0; j-- {
		l := strings.TrimSpace(lines[j])
		if l == "" {
			continue
		}
		return listItem.MatchString(lines[j]) || strings.HasPrefix(lines[j], "  ")
	}
	return false
}

var listItem = regexp.MustCompile(`^\s*([-*+]|[0-9]+[.)])\s`)

// extractLinks returns the link targets of doc: inline links and images [text](target
// "title"), reference definitions [label]: target, and the href and src of HTML tags, outside
// code blocks and code spans. Autolinks (<https://…>) are external and left out.
func extractLinks(doc string) []link {
	var links []link
	for i, line := range proseLines(doc) {
		if line == "" {
			continue
		}
		if m := refDefinition.FindStringSubmatch(line); m != nil {
			links = append(links, link{i + 1, strings.Trim(m[1], "<>")})
			continue
		}
		text := stripCodeSpans(line)
		for _, target := range inlineTargets(text) {
			links = append(links, link{i + 1, target})
		}
		for _, m := range htmlLink.FindAllStringSubmatch(text, -1) {
			links = append(links, link{i + 1, m[2]})
		}
	}
	return links
}

var (
	refDefinition = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s+(\S+)`)
	htmlLink      = regexp.MustCompile(`(?i)<(?:a|img)\s[^>]*\b(href|src)\s*=\s*"([^"]*)"`)
)

// stripCodeSpans replaces the code spans of line (`code`, “ `a` “) with spaces.
func stripCodeSpans(line string) string {
	b := []byte(line)
	for i := 0; i < len(b); {
		if b[i] == '\\' {
			i += 2
			continue
		}
		if b[i] != '`' {
			i++
			continue
		}
		n := 0
		for i+n < len(b) && b[i+n] == '`' {
			n++
		}
		closeAt := -1
		for j := i + n; j < len(b); {
			if b[j] != '`' {
				j++
				continue
			}
			m := 0
			for j+m < len(b) && b[j+m] == '`' {
				m++
			}
			if m == n {
				closeAt = j
				break
			}
			j += m
		}
		if closeAt < 0 { // no closing run: the backticks are literal
			i += n
			continue
		}
		for k := i; k < closeAt+n; k++ {
			b[k] = ' '
		}
		i = closeAt + n
	}
	return string(b)
}

// inlineTargets returns the targets of the inline links and images of text, which has no code
// spans: every "](" that closes a bracketed text.
func inlineTargets(text string) []string {
	var targets []string
	depth := 0
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '\\':
			i++
		case '[':
			depth++
		case ']':
			if depth == 0 {
				continue
			}
			depth--
			if i+1 < len(text) && text[i+1] == '(' {
				if target, end, ok := destination(text, i+2); ok {
					targets = append(targets, target)
					i = end
				}
			}
		}
	}
	return targets
}

// destination reads a link destination (and optional title) of text from start, just after
// "(". It returns the destination and the index of the closing ")".
func destination(text string, start int) (string, int, bool) {
	i := start
	for i < len(text) && text[i] == ' ' {
		i++
	}
	var dest string
	if i < len(text) && text[i] == '<' {
		end := strings.IndexByte(text[i:], '>')
		if end < 0 {
			return "", 0, false
		}
		dest, i = text[i+1:i+end], i+end+1
	} else {
		depth, j := 0, i
	loop:
		for ; j < len(text); j++ {
			switch c := text[j]; {
			case c == '\\':
				j++
			case c == '(':
				depth++
			case c == ')' && depth == 0, c == ' ':
				break loop
			case c == ')':
				depth--
			}
		}
		dest, i = text[i:j], j
	}
	// An optional title, then ")".
	for i < len(text) && text[i] == ' ' {
		i++
	}
	if i < len(text) && (text[i] == '"' || text[i] == '\'' || text[i] == '(') {
		closer := text[i]
		if closer == '(' {
			closer = ')'
		}
		end := strings.IndexByte(text[i+1:], closer)
		if end < 0 {
			return "", 0, false
		}
		i += end + 2
		for i < len(text) && text[i] == ' ' {
			i++
		}
	}
	if i >= len(text) || text[i] != ')' {
		return "", 0, false
	}
	return dest, i, true
}

var (
	atxHeading    = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$`)
	setextUnder   = regexp.MustCompile(`^ {0,3}(=+|-+)[ \t]*$`)
	htmlAnchor    = regexp.MustCompile(`(?i)<[a-z][a-z0-9]*\s[^>]*\b(?:id|name)\s*=\s*"([^"]+)"`)
	inlineLink    = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	htmlTag       = regexp.MustCompile(`</?[a-zA-Z][^>]*>`)
	emphasisMarks = regexp.MustCompile(`\*+|(^|[^\p{L}\p{N}])_+|_+($|[^\p{L}\p{N}])`)
)

// markdownAnchors returns the anchors of doc as GitHub makes them: one per heading (ATX and
// setext), numbered -1, -2, … when repeated, and the id and name of HTML tags.
func markdownAnchors(doc string) map[string]bool {
	anchors := map[string]bool{}
	s := newSlugger()
	lines := proseLines(doc)
	for i, line := range lines {
		if line == "" {
			continue
		}
		for _, m := range htmlAnchor.FindAllStringSubmatch(line, -1) {
			anchors[m[1]] = true
		}
		if m := atxHeading.FindStringSubmatch(line); m != nil {
			anchors[s.slug(headingText(m[2]))] = true
			continue
		}
		// A setext heading: a paragraph line underlined with === or ---. A --- under a
		// table row or a list item is not one.
		if i+1 < len(lines) && setextUnder.MatchString(lines[i+1]) && strings.TrimSpace(line) != "" &&
			!strings.HasPrefix(strings.TrimSpace(line), "|") && !listItem.MatchString(line) &&
			(i == 0 || strings.TrimSpace(lines[i-1]) == "") {
			anchors[s.slug(headingText(line))] = true
		}
	}
	return anchors
}

// headingText is the text a heading renders, from its Markdown: code spans keep their
// content literally; links and images keep their text; emphasis and HTML tags go.
func headingText(md string) string {
	var b strings.Builder
	parts := strings.Split(md, "`")
	// Even parts are outside code spans (a heading with an unmatched backtick keeps it).
	if len(parts)%2 == 0 {
		return renderInline(md)
	}
	for i, p := range parts {
		if i%2 == 1 {
			b.WriteString(p)
		} else {
			b.WriteString(renderInline(p))
		}
	}
	return strings.TrimSpace(b.String())
}

// renderInline renders the Markdown of s, outside code spans, to its text.
func renderInline(s string) string {
	s = inlineLink.ReplaceAllString(s, "$1")
	s = htmlTag.ReplaceAllString(s, "")
	s = emphasisMarks.ReplaceAllString(s, "$1$2")
	return strings.NewReplacer(`\`, "", "&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`).Replace(s)
}

// slugger makes GitHub's heading anchors (github-slugger): unique within one document.
type slugger struct{ occurrences map[string]int }

func newSlugger() *slugger { return &slugger{occurrences: map[string]int{}} }

// slug is the anchor of a heading whose text is text: lower case; every character but
// letters, marks, decimal and letter numbers, "_", "-" and " " dropped; each space a hyphen.
// A slug already given gets -1, -2, … .
func (s *slugger) slug(text string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-', r == '_', unicode.IsLetter(r), unicode.Is(unicode.Mark, r),
			unicode.Is(unicode.Nd, r), unicode.Is(unicode.Nl, r), unicode.Is(unicode.Pc, r):
			b.WriteRune(r)
		}
	}
	original := b.String()
	result := original
	for {
		if _, taken := s.occurrences[result]; !taken {
			break
		}
		s.occurrences[original]++
		result = fmt.Sprintf("%s-%d", original, s.occurrences[original])
	}
	s.occurrences[result] = 0
	return result
}

// TestSlug: anchors as GitHub gives them, for the kinds of headings the docs have.
func TestSlug(t *testing.T) {
	tests := []struct {
		name  string
		given []string // headings of one document, in order (their Markdown)
		want  []string
	}{
		{name: "words", given: []string{"Scaling replicas"}, want: []string{"scaling-replicas"}},
		{name: "code span and em dash", given: []string{"`[forward.fluentd]` — the fluentd sink"},
			want: []string{"forwardfluentd--the-fluentd-sink"}},
		{name: "apostrophe and parentheses", given: []string{"Top level (teleport-event-handler's keys)"},
			want: []string{"top-level-teleport-event-handlers-keys"}},
		{name: "punctuation", given: []string{"Teleport client (auditpipe-ingest; auditpipe-shipper with the lock sink)"},
			want: []string{"teleport-client-auditpipe-ingest-auditpipe-shipper-with-the-lock-sink"}},
		{name: "commas", given: []string{"`pause`, `resume`"}, want: []string{"pause-resume"}},
		{name: "slash", given: []string{"Redis Sentinel/Cluster and NATS TLS"}, want: []string{"redis-sentinelcluster-and-nats-tls"}},
		{name: "underscores in code kept", given: []string{"`auditpipe_admin_replicas`"}, want: []string{"auditpipe_admin_replicas"}},
		{name: "emphasis dropped", given: []string{"*Used* by _whom_ **now**"}, want: []string{"used-by-whom-now"}},
		{name: "link text kept", given: []string{"See [the chart](deploy/README.md)"}, want: []string{"see-the-chart"}},
		{name: "upper case and digits", given: []string{"HTTP 403 From Datadog"}, want: []string{"http-403-from-datadog"}},
		{name: "repeats numbered", given: []string{"Flags", "Flags", "Flags"}, want: []string{"flags", "flags-1", "flags-2"}},
		{name: "repeat that meets a numbered one", given: []string{"Foo", "Foo", "Foo 1"}, want: []string{"foo", "foo-1", "foo-1-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSlugger()
			for i, h := range tt.given {
				if got := s.slug(headingText(h)); got != tt.want[i] {
					t.Errorf("slug(%q) = %q, want %q", h, got, tt.want[i])
				}
			}
		})
	}
}

// TestExtractLinks: links are found in prose and tables, not in code.
func TestExtractLinks(t *testing.T) {
	tests := []struct {
		name  string
		given string
		want  []string
	}{
		{name: "inline", given: "See [config](config.md#keys) and ![img](a.png).", want: []string{"config.md#keys", "a.png"}},
		{name: "code text in the link", given: "[`auditpipectl configure`](auditpipectl.md#configure)", want: []string{"auditpipectl.md#configure"}},
		{name: "brackets in the text", given: "[a [b] c](x.md)", want: []string{"x.md"}},
		{name: "title and angle brackets", given: `[a](x.md "title") [b](<y z.md>)`, want: []string{"x.md", "y z.md"}},
		{name: "parentheses in the target", given: "[a](x_(1).md)", want: []string{"x_(1).md"}},
		{name: "table cell", given: "| [AuditpipeX](#auditpipex) | warning |", want: []string{"#auditpipex"}},
		{name: "reference definition", given: "[ref]: ../deploy/README.md", want: []string{"../deploy/README.md"}},
		{name: "html", given: `<a href="docs/x.md">x</a>`, want: []string{"docs/x.md"}},
		{name: "code span", given: "`[a](nowhere.md)` and ``[b](`x`)``", want: nil},
		{name: "fenced code", given: "```sh\n[a](nowhere.md)\n```\n~~~\n[b](c.md)\n~~~", want: nil},
		{name: "indented code", given: "text\n\n    [a](nowhere.md)\n", want: nil},
		{name: "nested list is prose", given: "- item\n\n    [a](x.md)\n", want: []string{"x.md"}},
		{name: "not a link", given: "[ingest] teleport.identity: (required)", want: nil},
		{name: "escaped", given: `\[a](x.md)`, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, l := range extractLinks(tt.given) {
				got = append(got, l.target)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("extractLinks(%q) = %q, want %q", tt.given, got, tt.want)
			}
		})
	}
}

// TestCheckLink: the checker refuses what GitHub would render as a broken link.
func TestCheckLink(t *testing.T) {
	root := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("README.md", "# Top\n\n## Run it\n\nText\n")
	write("docs/a.md", "# A\n\n## Flags\n\n## Flags\n\n<a id=\"custom\"></a>\n\nSetext\n------\n\n```\n## Not a heading\n```\n")
	write("deploy/main.go", "package main\n")
	tests := []struct {
		name    string
		target  string
		wantErr string // a substring of the problem; "" for none
	}{
		{name: "file", target: "../README.md"},
		{name: "heading", target: "../README.md#run-it"},
		{name: "same file", target: "#flags-1"},
		{name: "html anchor", target: "#custom"},
		{name: "setext heading", target: "#setext"},
		{name: "directory", target: "../deploy"},
		{name: "root-relative", target: "/docs/a.md#a"},
		{name: "line anchor", target: "../deploy/main.go#L1"},
		{name: "repository URL", target: repoURL + "blob/main/docs/a.md#flags"},
		{name: "external", target: "https://example.com/x.md#nowhere"},
		{name: "missing file", target: "b.md", wantErr: "no such file"},
		{name: "missing anchor", target: "../README.md#run", wantErr: "no heading or anchor #run"},
		{name: "anchor from code", target: "#not-a-heading", wantErr: "no heading or anchor"},
		{name: "third repeat", target: "#flags-2", wantErr: "no heading or anchor"},
		{name: "upper case", target: "#Flags", wantErr: "no heading or anchor"},
		{name: "outside", target: "../../x.md", wantErr: "outside the repository"},
		{name: "fragment on a directory", target: "../deploy#x", wantErr: "directory"},
		{name: "fragment in Go", target: "../deploy/main.go#main", wantErr: "not Markdown"},
		{name: "repository URL, missing", target: repoURL + "blob/main/docs/a.md#nope", wantErr: "no heading or anchor"},
		{name: "empty fragment", target: "../README.md#", wantErr: "empty #fragment"},
	}
	c := newChecker(root)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.checkLink("docs/a.md", tt.target)
			switch {
			case tt.wantErr == "" && got != "":
				t.Errorf("checkLink(%q) = %q, want no problem", tt.target, got)
			case tt.wantErr != "" && !strings.Contains(got, tt.wantErr):
				t.Errorf("checkLink(%q) = %q, want a problem with %q", tt.target, got, tt.wantErr)
			}
		})
	}
}
