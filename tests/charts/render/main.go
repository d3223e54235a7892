// Command render renders a Helm chart the way `helm template` does, for tests on machines where Helm itself cannot
// be installed. It is built in GOPATH mode (GO111MODULE=off GOPATH=/usr/share/gocode) against Debian's packages of
// the libraries Helm is built on: Go's text/template, sprig (golang-github-masterminds-sprig-dev), go-yaml v2 (the
// engine behind sigs.k8s.io/yaml), Masterminds/semver and gojsonschema (golang-github-xeipuuv-gojsonschema-dev, the
// values.schema.json validator of Helm 3 before 3.18).
//
// What it reproduces of Helm 3's engine (pkg/engine, pkg/chartutil, pkg/releaseutil):
//   - the function map: sprig.TxtFuncMap() without env and expandenv, plus toYaml, fromYaml, fromYamlArray, toJson,
//     fromJson, fromJsonArray, include, tpl, required and lookup (which, as in `helm template`, finds nothing);
//   - every file under templates/ parsed into one template set named <chart>/templates/<path>, executed with
//     missingkey=zero, "<no value>" replaced by "", files whose name starts with "_" not rendered, NOTES.txt apart;
//   - values: the chart's values.yaml, then each -f file merged over the previous ones, coalesced as Helm does
//     (a null removes a default), read the way sigs.k8s.io/yaml reads them (numbers become float64);
//   - values.schema.json validation of the coalesced values, with Helm's error message;
//   - Chart.yaml's kubeVersion checked against the (fake) cluster version;
//   - built-in objects .Values, .Release (Name, Namespace, IsInstall, IsUpgrade, Revision, Service), .Chart (the
//     Chart.yaml metadata, Helm's field names), .Capabilities (KubeVersion, APIVersions.Has, HelmVersion) and
//     .Template (Name, BasePath). .Files and subcharts are not implemented: a chart using them fails to render.
//
// Output: the manifests as `helm template` prints them (each document preceded by "---" and "# Source: path"),
// or with -json a JSON array of {"source", "object"} where object is the document converted as Kubernetes clients
// convert YAML (sigs.k8s.io/yaml: YAML 1.1 scalars, then JSON). A document that is not valid YAML is an error, as
// it is for `helm install`. -notes prints the rendered NOTES.txt instead. Errors go to stderr with exit code 1.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/semver"
	"github.com/Masterminds/sprig"
	"github.com/xeipuuv/gojsonschema"
	yaml "gopkg.in/yaml.v2"
)

// Metadata is Chart.yaml, with the field names templates see in Helm (chart.Metadata).
type Metadata struct {
	Name         string                   `json:"name,omitempty"`
	Home         string                   `json:"home,omitempty"`
	Sources      []string                 `json:"sources,omitempty"`
	Version      string                   `json:"version,omitempty"`
	Description  string                   `json:"description,omitempty"`
	Keywords     []string                 `json:"keywords,omitempty"`
	Maintainers  []map[string]interface{} `json:"maintainers,omitempty"`
	Icon         string                   `json:"icon,omitempty"`
	APIVersion   string                   `json:"apiVersion,omitempty"`
	Condition    string                   `json:"condition,omitempty"`
	Tags         string                   `json:"tags,omitempty"`
	AppVersion   string                   `json:"appVersion,omitempty"`
	Deprecated   bool                     `json:"deprecated,omitempty"`
	Annotations  map[string]string        `json:"annotations,omitempty"`
	KubeVersion  string                   `json:"kubeVersion,omitempty"`
	Dependencies []map[string]interface{} `json:"dependencies,omitempty"`
	Type         string                   `json:"type,omitempty"`
}

// KubeVersion is .Capabilities.KubeVersion.
type KubeVersion struct {
	Version string
	Major   string
	Minor   string
}

func (k KubeVersion) String() string     { return k.Version }
func (k KubeVersion) GitVersion() string { return k.Version }

// VersionSet is .Capabilities.APIVersions.
type VersionSet []string

// Has reports whether the API version (group/version, or group/version/Kind) is known.
func (v VersionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

// Capabilities is .Capabilities.
type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions VersionSet
	HelmVersion map[string]string
}

// The API versions of a plain cluster (no custom resources), as `helm template` assumes without --api-versions.
var defaultAPIVersions = VersionSet{
	"v1", "apps/v1", "batch/v1", "autoscaling/v1", "autoscaling/v2", "policy/v1", "networking.k8s.io/v1",
	"rbac.authorization.k8s.io/v1", "storage.k8s.io/v1", "coordination.k8s.io/v1", "discovery.k8s.io/v1",
	"admissionregistration.k8s.io/v1", "apiextensions.k8s.io/v1", "scheduling.k8s.io/v1", "node.k8s.io/v1",
	"certificates.k8s.io/v1", "events.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1",
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

const warnStart = "HELM_ERR_START"
const warnEnd = "HELM_ERR_END"

var warnRegex = regexp.MustCompile(warnStart + `(.*)` + warnEnd)

func main() {
	var valueFiles, apiVersions stringList
	chartDir := flag.String("chart", "", "the chart directory")
	name := flag.String("name", "release-name", "the release name")
	namespace := flag.String("namespace", "default", "the release namespace")
	kubeVersion := flag.String("kube-version", "v1.31.0", "the Kubernetes version the chart is rendered for")
	asJSON := flag.Bool("json", false, "print the manifests as a JSON array of {source, object}")
	notes := flag.Bool("notes", false, "print the rendered NOTES.txt instead of the manifests")
	flag.Var(&valueFiles, "f", "a values file (repeatable; later files win)")
	flag.Var(&apiVersions, "api-versions", "an extra API version for .Capabilities.APIVersions (repeatable)")
	flag.Parse()
	if *chartDir == "" {
		fail(errors.New("-chart is required"))
	}

	out, err := run(*chartDir, *name, *namespace, *kubeVersion, valueFiles, apiVersions, *asJSON, *notes)
	if err != nil {
		fail(err)
	}
	os.Stdout.WriteString(out)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "Error:", err)
	os.Exit(1)
}

func run(chartDir, releaseName, namespace, kubeVersion string, valueFiles, extraAPIVersions []string, asJSON, notesOnly bool) (string, error) {
	metadata, err := readMetadata(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return "", err
	}

	caps, err := capabilities(kubeVersion, extraAPIVersions)
	if err != nil {
		return "", err
	}
	if metadata.KubeVersion != "" {
		constraint, err := semver.NewConstraint(metadata.KubeVersion)
		if err != nil {
			return "", fmt.Errorf("Chart.yaml: invalid kubeVersion %q: %w", metadata.KubeVersion, err)
		}
		version, err := semver.NewVersion(caps.KubeVersion.Version)
		if err != nil {
			return "", err
		}
		if !constraint.Check(version) {
			return "", fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", metadata.KubeVersion, caps.KubeVersion.Version)
		}
	}

	defaults, err := readValuesFile(filepath.Join(chartDir, "values.yaml"), true)
	if err != nil {
		return "", err
	}
	user := map[string]interface{}{}
	for _, file := range valueFiles {
		values, err := readValuesFile(file, false)
		if err != nil {
			return "", err
		}
		user = mergeMaps(user, values)
	}
	values := coalesce(user, defaults)

	if schema, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json")); err == nil {
		if err := validateAgainstSchema(values, schema); err != nil {
			return "", fmt.Errorf("values don't meet the specifications of the schema(s) in the following chart(s):\n%s:\n%s", metadata.Name, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}

	templates, err := readTemplates(chartDir, metadata.Name)
	if err != nil {
		return "", err
	}

	top := map[string]interface{}{
		"Values": values,
		"Chart":  metadata,
		"Release": map[string]interface{}{
			"Name":      releaseName,
			"Namespace": namespace,
			"IsUpgrade": false,
			"IsInstall": true,
			"Revision":  1,
			"Service":   "Helm",
		},
		"Capabilities": caps,
	}
	rendered, err := render(templates, top, metadata.Name)
	if err != nil {
		return "", err
	}

	if notesOnly {
		return rendered[metadata.Name+"/templates/NOTES.txt"], nil
	}
	return manifests(rendered, asJSON)
}

func readMetadata(file string) (*Metadata, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var m Metadata
	if err := unmarshalLikeSigsYaml(data, &m); err != nil {
		return nil, fmt.Errorf("cannot load Chart.yaml: %w", err)
	}
	if m.APIVersion != "v2" {
		return nil, fmt.Errorf("Chart.yaml: apiVersion must be v2 (got %q)", m.APIVersion)
	}
	if m.Name == "" || m.Version == "" {
		return nil, errors.New("Chart.yaml: name and version are required")
	}
	if _, err := semver.StrictNewVersion(m.Version); err != nil {
		return nil, fmt.Errorf("Chart.yaml: version %q is not SemVer 2", m.Version)
	}
	return &m, nil
}

func capabilities(kubeVersion string, extra []string) (*Capabilities, error) {
	v, err := semver.NewVersion(kubeVersion)
	if err != nil {
		return nil, fmt.Errorf("invalid -kube-version %q: %w", kubeVersion, err)
	}
	apis := append(VersionSet{}, defaultAPIVersions...)
	apis = append(apis, extra...)
	return &Capabilities{
		KubeVersion: KubeVersion{Version: "v" + v.String(), Major: strconv.FormatUint(v.Major(), 10), Minor: strconv.FormatUint(v.Minor(), 10)},
		APIVersions: apis,
		HelmVersion: map[string]string{"Version": "v3-compatible-test-renderer"},
	}, nil
}

// readValuesFile reads a values file as chartutil.ReadValues does (sigs.k8s.io/yaml: YAML to JSON, then JSON into
// map[string]interface{}, so every number is a float64).
func readValuesFile(file string, optional bool) (map[string]interface{}, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		if optional && errors.Is(err, fs.ErrNotExist) {
			return map[string]interface{}{}, nil
		}
		return nil, err
	}
	values := map[string]interface{}{}
	if err := unmarshalLikeSigsYaml(data, &values); err != nil {
		return nil, fmt.Errorf("failed to parse %s: %w", file, err)
	}
	if values == nil {
		values = map[string]interface{}{}
	}
	return values, nil
}

func readTemplates(chartDir, chartName string) (map[string]string, error) {
	templates := map[string]string{}
	root := filepath.Join(chartDir, "templates")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(chartDir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		templates[path.Join(chartName, filepath.ToSlash(rel))] = string(data)
		return nil
	})
	return templates, err
}

// render parses every template into one set and executes each non-partial one, as engine.renderWithReferences does.
func render(templates map[string]string, top map[string]interface{}, chartName string) (map[string]string, error) {
	t := template.New("gotpl")
	t.Option("missingkey=zero")
	t.Funcs(funcMap(t, templates))

	keys := sortTemplates(templates)
	for _, name := range keys {
		if _, err := t.New(name).Parse(templates[name]); err != nil {
			return nil, cleanupParseError(name, err)
		}
	}

	rendered := map[string]string{}
	for _, name := range keys {
		if strings.HasPrefix(path.Base(name), "_") {
			continue
		}
		vals := copyTop(top)
		vals["Template"] = map[string]interface{}{"Name": name, "BasePath": path.Join(chartName, "templates")}
		var buf strings.Builder
		if err := t.ExecuteTemplate(&buf, name, vals); err != nil {
			return nil, cleanupExecError(name, err)
		}
		rendered[name] = strings.ReplaceAll(buf.String(), "<no value>", "")
	}
	return rendered, nil
}

func copyTop(top map[string]interface{}) map[string]interface{} {
	c := make(map[string]interface{}, len(top)+1)
	for k, v := range top {
		c[k] = v
	}
	return c
}

func funcMap(t *template.Template, templates map[string]string) template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")

	included := map[string]int{}
	f["include"] = func(name string, data interface{}) (string, error) {
		if included[name] > 1000 {
			return "", fmt.Errorf("unable to execute template: rendering template has a nested reference name: %s", name)
		}
		included[name]++
		var buf strings.Builder
		err := t.ExecuteTemplate(&buf, name, data)
		included[name]--
		return buf.String(), err
	}
	f["tpl"] = func(text string, vals map[string]interface{}) (string, error) {
		// As Helm: a fresh template set holding every chart template plus this text under the current template's
		// name, executed with the values given (the top-level object, by convention `$`).
		name, _ := pathValue(vals, "Template", "Name").(string)
		if name == "" {
			return "", fmt.Errorf("cannot retrieve Template.Name from values inside tpl function: %s", text)
		}
		nt := template.New("gotpl")
		nt.Option("missingkey=zero")
		nt.Funcs(funcMap(nt, templates))
		for _, key := range sortTemplates(templates) {
			if key == name {
				continue
			}
			if _, err := nt.New(key).Parse(templates[key]); err != nil {
				return "", cleanupParseError(key, err)
			}
		}
		if _, err := nt.New(name).Parse(text); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %w", text, cleanupParseError(name, err))
		}
		var buf strings.Builder
		if err := nt.ExecuteTemplate(&buf, name, vals); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %w", text, cleanupExecError(name, err))
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	f["required"] = func(warn string, val interface{}) (interface{}, error) {
		if val == nil {
			return val, errors.New(warnStart + warn + warnEnd)
		}
		if s, ok := val.(string); ok && s == "" {
			return val, errors.New(warnStart + warn + warnEnd)
		}
		return val, nil
	}
	f["lookup"] = func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
		// `helm template` has no cluster: lookup finds nothing.
		return map[string]interface{}{}, nil
	}
	f["toYaml"] = toYAML
	f["fromYaml"] = fromYAML
	f["fromYamlArray"] = fromYAMLArray
	f["toJson"] = toJSON
	f["fromJson"] = fromJSON
	f["fromJsonArray"] = fromJSONArray
	return f
}

func pathValue(m map[string]interface{}, keys ...string) interface{} {
	var cur interface{} = m
	for _, k := range keys {
		mm, ok := cur.(map[string]interface{})
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

// sortTemplates orders names as Helm does: fewer path segments first, then by name.
func sortTemplates(templates map[string]string) []string {
	keys := make([]string, 0, len(templates))
	for k := range templates {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		ci, cj := strings.Count(keys[i], "/"), strings.Count(keys[j], "/")
		if ci == cj {
			return keys[i] < keys[j]
		}
		return ci < cj
	})
	// Helm sorts in reverse of that order before parsing; the order only decides which of two same-named defines wins.
	for i, j := 0, len(keys)-1; i < j; i, j = i+1, j-1 {
		keys[i], keys[j] = keys[j], keys[i]
	}
	return keys
}

func cleanupParseError(name string, err error) error {
	tokens := strings.Split(err.Error(), ": ")
	if len(tokens) == 1 {
		return fmt.Errorf("parse error in (%s): %s", name, err)
	}
	return fmt.Errorf("parse error at (%s): %s", tokens[1], tokens[len(tokens)-1])
}

func cleanupExecError(name string, err error) error {
	var execErr template.ExecError
	if !errors.As(err, &execErr) {
		return err
	}
	tokens := strings.SplitN(err.Error(), ": ", 3)
	if len(tokens) != 3 {
		return fmt.Errorf("execution error in (%s): %s", name, err)
	}
	if parts := warnRegex.FindStringSubmatch(tokens[2]); len(parts) >= 2 {
		return fmt.Errorf("execution error at (%s): %s", tokens[1], parts[1])
	}
	return err
}

// manifests splits the rendered files into documents as releaseutil.SplitManifests does and checks each one parses.
func manifests(rendered map[string]string, asJSON bool) (string, error) {
	sep := regexp.MustCompile("(?:^|\\s*\n)---\\s*")
	names := make([]string, 0, len(rendered))
	for name := range rendered {
		if strings.HasSuffix(name, "NOTES.txt") {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)

	type document struct {
		Source string      `json:"source"`
		Object interface{} `json:"object"`
	}
	var text strings.Builder
	docs := []document{}
	for _, name := range names {
		content := rendered[name]
		if strings.TrimSpace(content) == "" {
			continue
		}
		for _, doc := range sep.Split(content, -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var object interface{}
			if err := unmarshalLikeSigsYaml([]byte(doc), &object); err != nil {
				return "", fmt.Errorf("YAML parse error on %s: %w", name, err)
			}
			if object == nil {
				continue
			}
			docs = append(docs, document{Source: name, Object: object})
			text.WriteString("---\n# Source: " + name + "\n" + strings.TrimSpace(doc) + "\n")
		}
	}
	if !asJSON {
		return text.String(), nil
	}
	data, err := json.MarshalIndent(docs, "", "  ")
	if err != nil {
		return "", err
	}
	return string(data) + "\n", nil
}

func validateAgainstSchema(values map[string]interface{}, schema []byte) error {
	valuesJSON, err := json.Marshal(values)
	if err != nil {
		return err
	}
	if bytes.Equal(valuesJSON, []byte("null")) {
		valuesJSON = []byte("{}")
	}
	result, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(schema), gojsonschema.NewBytesLoader(valuesJSON))
	if err != nil {
		return err
	}
	if !result.Valid() {
		var sb strings.Builder
		for _, desc := range result.Errors() {
			sb.WriteString(fmt.Sprintf("- %s\n", desc))
		}
		return errors.New(sb.String())
	}
	return nil
}

// mergeMaps merges b into a, b winning, recursively for tables (Helm's values.go mergeMaps, for -f files).
func mergeMaps(a, b map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if vm, ok := v.(map[string]interface{}); ok {
			if bv, ok := out[k]; ok {
				if bvm, ok := bv.(map[string]interface{}); ok {
					out[k] = mergeMaps(bvm, vm)
					continue
				}
			}
		}
		out[k] = v
	}
	return out
}

// coalesce lays the user's values over the chart's defaults as chartutil.CoalesceValues does: user values win,
// tables merge, and a user null deletes the default.
func coalesce(user, defaults map[string]interface{}) map[string]interface{} {
	dst := deepCopy(user).(map[string]interface{})
	coalesceTables(dst, deepCopy(defaults).(map[string]interface{}), "")
	return dst
}

func coalesceTables(dst, src map[string]interface{}, prefix string) {
	for key, val := range src {
		dv, ok := dst[key]
		if !ok {
			dst[key] = val
			continue
		}
		if dv == nil {
			delete(dst, key)
			continue
		}
		if srcTable, ok := val.(map[string]interface{}); ok {
			if dstTable, ok := dv.(map[string]interface{}); ok {
				coalesceTables(dstTable, srcTable, prefix+key+".")
			} else {
				fmt.Fprintf(os.Stderr, "coalesce.go: warning: destination for %s%s is a table. Ignoring non-table value (%v)\n", prefix, key, dv)
			}
		} else if _, ok := dv.(map[string]interface{}); ok && val != nil {
			fmt.Fprintf(os.Stderr, "coalesce.go: warning: cannot overwrite table with non table for %s%s (%v)\n", prefix, key, val)
		}
	}
}

func deepCopy(v interface{}) interface{} {
	switch x := v.(type) {
	case map[string]interface{}:
		m := make(map[string]interface{}, len(x))
		for k, val := range x {
			m[k] = deepCopy(val)
		}
		return m
	case []interface{}:
		s := make([]interface{}, len(x))
		for i, val := range x {
			s[i] = deepCopy(val)
		}
		return s
	default:
		return v
	}
}

// unmarshalLikeSigsYaml is sigs.k8s.io/yaml.Unmarshal: the YAML (1.1, go-yaml v2) converted to JSON, then decoded
// with encoding/json into target.
func unmarshalLikeSigsYaml(data []byte, target interface{}) error {
	j, err := yamlToJSON(data)
	if err != nil {
		return err
	}
	return json.Unmarshal(j, target)
}

func yamlToJSON(data []byte) ([]byte, error) {
	var object interface{}
	if err := yaml.Unmarshal(data, &object); err != nil {
		return nil, err
	}
	converted, err := jsonable(object)
	if err != nil {
		return nil, err
	}
	return json.Marshal(converted)
}

func jsonable(v interface{}) (interface{}, error) {
	switch x := v.(type) {
	case map[interface{}]interface{}:
		m := make(map[string]interface{}, len(x))
		for k, val := range x {
			var key string
			switch tk := k.(type) {
			case string:
				key = tk
			case int:
				key = strconv.Itoa(tk)
			case int64:
				key = strconv.FormatInt(tk, 10)
			case uint64:
				key = strconv.FormatUint(tk, 10)
			case float64:
				key = strconv.FormatFloat(tk, 'g', -1, 64)
			case bool:
				key = strconv.FormatBool(tk)
			default:
				return nil, fmt.Errorf("unsupported map key of type %T: %v", k, k)
			}
			c, err := jsonable(val)
			if err != nil {
				return nil, err
			}
			m[key] = c
		}
		return m, nil
	case []interface{}:
		s := make([]interface{}, len(x))
		for i, val := range x {
			c, err := jsonable(val)
			if err != nil {
				return nil, err
			}
			s[i] = c
		}
		return s, nil
	default:
		return v, nil
	}
}

// toYAML is Helm's toYaml: sigs.k8s.io/yaml.Marshal (JSON first, then go-yaml v2 with sorted keys), without the
// trailing newline; an error gives "".
func toYAML(v interface{}) string {
	j, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	var object interface{}
	if err := yaml.Unmarshal(j, &object); err != nil {
		return ""
	}
	data, err := yaml.Marshal(object)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

func fromYAML(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := unmarshalLikeSigsYaml([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromYAMLArray(s string) []interface{} {
	a := []interface{}{}
	if err := unmarshalLikeSigsYaml([]byte(s), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

func toJSON(v interface{}) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(data)
}

func fromJSON(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromJSONArray(s string) []interface{} {
	a := []interface{}{}
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}
