// psa-check evaluates every pod spec of a multi-document YAML stream (a `helm template` render)
// against a Pod Security Standard with the Kubernetes project's own admission code
// (k8s.io/pod-security-admission): the pod spec is extracted and checked as the api-server's
// PodSecurity admission plugin would. It prints one line per object that fails, in the api-server's
// wording, then on stderr how many pod specs it checked; it exits 1 when any fails. Objects without
// a pod spec are skipped.
//
//	helm template airyard charts/airyard | psa-check [-level restricted] [-version latest]
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/pod-security-admission/admission"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// version is set at build time (hack/tools.sh) to a digest of this module's sources.
var version = "dev"

// decoder knows exactly the kinds whose pod spec the admission plugin extracts
// (admission.DefaultPodSpecExtractor); every other kind is skipped as not registered.
var decoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	scheme.AddKnownTypes(corev1.SchemeGroupVersion, &corev1.Pod{}, &corev1.PodTemplate{}, &corev1.ReplicationController{})
	scheme.AddKnownTypes(appsv1.SchemeGroupVersion, &appsv1.Deployment{}, &appsv1.StatefulSet{}, &appsv1.DaemonSet{}, &appsv1.ReplicaSet{})
	scheme.AddKnownTypes(batchv1.SchemeGroupVersion, &batchv1.Job{}, &batchv1.CronJob{})
	return serializer.NewCodecFactory(scheme).UniversalDeserializer()
}()

func main() {
	level := flag.String("level", string(api.LevelRestricted), "Pod Security level: privileged, baseline or restricted")
	ver := flag.String("version", "latest", `policy version: "latest" or "v1.<minor>"`)
	showVersion := flag.Bool("v", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println("psa-check", version)
		return
	}
	checked, failed, err := run(os.Stdin, os.Stdout, *level, *ver)
	if err != nil {
		fmt.Fprintln(os.Stderr, "psa-check:", err)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "psa-check: %d pod specs checked, %d refused at %s:%s\n", checked, failed, *level, *ver)
	if failed > 0 {
		os.Exit(1)
	}
}

// run checks every document of in and writes a line for each failing object to out; it returns
// how many pod specs it checked and how many failed.
func run(in io.Reader, out io.Writer, level, ver string) (checked, failed int, err error) {
	l, err := api.ParseLevel(level)
	if err != nil {
		return 0, 0, fmt.Errorf("-level: %w", err)
	}
	v, err := api.ParseVersion(ver)
	if err != nil {
		return 0, 0, fmt.Errorf("-version: %w", err)
	}
	lv := api.LevelVersion{Level: l, Version: v}
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return 0, 0, fmt.Errorf("building the evaluator: %w", err)
	}

	reader := yaml.NewYAMLReader(bufio.NewReader(in))
	for n := 1; ; n++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return checked, failed, nil
		}
		if err != nil {
			return checked, failed, fmt.Errorf("reading document %d: %w", n, err)
		}
		obj, _, err := decoder.Decode(doc, nil, nil)
		if runtime.IsNotRegisteredError(err) || runtime.IsMissingKind(err) {
			continue // no pod spec (or an empty document)
		}
		if err != nil {
			return checked, failed, fmt.Errorf("decoding document %d: %w", n, err)
		}
		podMeta, podSpec, err := admission.DefaultPodSpecExtractor{}.ExtractPodSpec(obj)
		if err != nil {
			return checked, failed, fmt.Errorf("document %d: %w", n, err)
		}
		checked++
		result := policy.AggregateCheckResults(evaluator.EvaluatePod(lv, podMeta, podSpec))
		if !result.Allowed {
			failed++
			fmt.Fprintf(out, "%s: violates PodSecurity %q: %s\n", name(obj), lv.String(), result.ForbiddenDetail())
		}
	}
}

// name is Kind/namespace/name, or Kind/name when the render leaves the namespace to the client.
func name(obj runtime.Object) string {
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	m, err := meta.Accessor(obj)
	if err != nil {
		return kind
	}
	if m.GetNamespace() == "" {
		return kind + "/" + m.GetName()
	}
	return kind + "/" + m.GetNamespace() + "/" + m.GetName()
}
