package kube

import (
	"fmt"
	"strings"
)

// FailureKind names why a rollout cannot finish. Callers switch on it (or
// on errors.As with *RolloutError); they never read it out of the text.
type FailureKind string

// The failure kinds the gate tells apart.
const (
	// FailQuota: the ReplicaSet cannot create pods because a ResourceQuota
	// of the namespace is used up (FailedCreate).
	FailQuota FailureKind = "quota"
	// FailPodSecurity: the namespace's Pod Security level refuses the pods
	// (FailedCreate).
	FailPodSecurity FailureKind = "pod-security"
	// FailAdmission: another admission check refuses the pods: a webhook, a
	// LimitRange, a policy engine (FailedCreate).
	FailAdmission FailureKind = "admission"
	// FailImagePull: the nodes cannot pull the image (ErrImagePull,
	// ImagePullBackOff, InvalidImageName).
	FailImagePull FailureKind = "image-pull"
	// FailCrash: a container crash-loops, restarted, or cannot be created
	// from its configuration.
	FailCrash FailureKind = "crash"
	// FailUnready: a new pod was Ready, then left Ready during the settle
	// window (its readiness probe failed).
	FailUnready FailureKind = "unready"
	// FailUnschedulable: the scheduler finds no node for the pods
	// (resources, affinity, taints) and no cluster autoscaler is adding one.
	FailUnschedulable FailureKind = "unschedulable"
	// FailNoNode: the pods' node is NotReady, or no Ready node can run
	// them at all (a dead kubelet, a cordoned pool).
	FailNoNode FailureKind = "no-ready-node"
	// FailProgress: the Deployment exceeded its progress deadline
	// (kstatus Failed) without a more specific cause.
	FailProgress FailureKind = "progress-deadline"
	// FailTimeout: the gate's timeout passed.
	FailTimeout FailureKind = "timeout"
	// FailInterrupted: the caller cancelled the run during the gate.
	FailInterrupted FailureKind = "interrupted"
)

// RolloutError is a gate that ended without a healthy release: what
// failed, the cluster's own reason and message, and what to do.
type RolloutError struct {
	Kind FailureKind
	// Object is what the cluster blamed, e.g. "ReplicaSet hello-6d9f" or
	// "Pod hello-6d9f-x2x7k".
	Object string
	// Reason and Message are the cluster's own words (an event's or a
	// condition's reason and message), quoted as they are.
	Reason, Message string
	// Quotas are the ResourceQuotas a FailQuota refusal names.
	Quotas []string
	// Node is the node of a FailNoNode failure, if one is known.
	Node string
	// Logs are a failing container's last log lines, if any.
	Logs string
	// After is how long the gate ran.
	After string
}

func (e *RolloutError) Error() string {
	var b strings.Builder
	switch {
	case e.Object != "" && e.Reason != "":
		fmt.Fprintf(&b, "%s: %s", e.Object, e.Reason)
	case e.Object != "":
		b.WriteString(e.Object)
	default:
		b.WriteString(e.Reason)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %q", e.Message)
	}
	if e.Logs != "" {
		fmt.Fprintf(&b, "; last log lines: %s", e.Logs)
	}
	if e.After != "" {
		fmt.Fprintf(&b, " (after %s)", e.After)
	}
	if fix := e.Fix(); fix != "" {
		b.WriteString("; " + fix)
	}
	return b.String()
}

// Fix says what to do about the failure.
func (e *RolloutError) Fix() string {
	switch e.Kind {
	case FailQuota:
		q := "the namespace's ResourceQuota"
		if len(e.Quotas) > 0 {
			q = "ResourceQuota " + strings.Join(e.Quotas, ", ")
		}
		return fmt.Sprintf("raise %s (kubectl describe resourcequota), lower replicas or requests, or free room: a rolling update needs room for one more pod, blue-green for a whole second color", q)
	case FailPodSecurity:
		return "the namespace's pod-security.kubernetes.io/enforce level refuses these pods: fix the pod's securityContext or ask for the namespace's level to change"
	case FailAdmission:
		return "an admission check (webhook, LimitRange or policy) refuses these pods: fix the manifests it names, or ask its owner"
	case FailImagePull:
		return "check the image exists and that the nodes may pull it: a pull secret (--registry-username/--registry-password) or the node's credential helper (ACK: aliyun-acr-credential-helper)"
	case FailCrash:
		return "the app exits or fails its probes: read its logs (kubectl logs --previous) and its health path"
	case FailUnready:
		return "the app passed its readiness probe, then failed it: it would have served errors; check its health path and logs"
	case FailUnschedulable:
		return "no node has room or matches the pods' constraints: add nodes (or enable the cluster autoscaler), lower requests, or fix nodeSelector/affinity/tolerations"
	case FailNoNode:
		return "no Ready node can run the pods: bring the node back (kubelet, network) or add a node; nothing goship does in the namespace can fix it"
	case FailProgress:
		return "the Deployment stopped progressing: kubectl describe deployment shows why"
	case FailTimeout:
		return "the rollout was still going: raise the health timeout if the app starts slowly"
	}
	return ""
}

// PolicyError refuses a deploy or rollback without verification in a
// namespace that took a verified release: the namespace remembers its
// policy (ConfigMap goship-policy) until a run opts out explicitly.
type PolicyError struct {
	Namespace string
	// Policy is what the namespace holds, e.g. "cosign key sha256:ab12…",
	// and Since the release that set it.
	Policy, Since string
}

func (e *PolicyError) Error() string {
	return fmt.Sprintf("namespace %s holds policy %q since release %s: every deploy and rollback there must be verified; verify this one (declare the policy in .goship/policy.yaml), or opt out for this run with with-unverified --reason (recorded)", e.Namespace, e.Policy, e.Since)
}

// UnpinnedImageError refuses a release under a policy when one of its
// images is not pinned by digest: a tag can move after it was verified.
type UnpinnedImageError struct {
	Image  string
	Object string // e.g. "CronJob report, container report"
}

func (e *UnpinnedImageError) Error() string {
	return fmt.Sprintf("%s runs image %q, which is not pinned by digest: under a verification policy every image must be repo@sha256:… (pin it, e.g. with kustomize's images: digest)", e.Object, e.Image)
}

// ExecPluginError says the kubeconfig's user runs a credential plugin
// (ack-ram-tool, kubelogin, aws, gke-gcloud-auth-plugin…), which cannot
// run inside goship's container.
type ExecPluginError struct {
	Context, User, Command string
}

func (e *ExecPluginError) Error() string {
	return fmt.Sprintf("kubeconfig context %q: user %q gets its credentials from the exec plugin %q, which cannot run inside goship's container (it is not installed there, and it would need your cloud login); use a kubeconfig with a client certificate (ACK console: cluster → Connection Information → the non-temporary KubeConfig) or a ServiceAccount token bound to the namespace", e.Context, e.User, e.Command)
}

// InterruptedError says the caller cancelled the run, and (Then) what
// goship did to leave the app in a known state.
type InterruptedError struct {
	Release string
	Then    string
	Cause   error
}

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("release %s interrupted (%v): %s", e.Release, e.Cause, e.Then)
}

func (e *InterruptedError) Unwrap() error { return e.Cause }
