//! Kubernetes custom resource types of the MONO operator (in progress).
