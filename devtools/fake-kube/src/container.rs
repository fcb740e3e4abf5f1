//! A simulated container: the [`Program`] a test gives for a Job, run against the files its
//! pod mounts, with the kubelet's termination-log file mounted where the container asks.
//!
//! Nothing is executed. A program is a Rust closure standing in for the image's entry point,
//! and it observes what a real process would: its command line, the files of its volumes (a
//! read-only root when the container asks for one), and the termination-log file that the
//! kubelet bind-mounts at `terminationMessagePath` before the process starts. That mount point
//! is created in whatever holds the path, as the container runtime creates it: a path inside a
//! volume leaves an empty file on the volume, and the program finds it there.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::node::{Files, Node};

/// `terminationMessagePath` when the container names none (the API server's default).
pub(crate) const DEFAULT_TERMINATION_MESSAGE_PATH: &str = "/dev/termination-log";
/// The kubelet reads at most the last 4 KiB of the termination-log file.
const MAX_TERMINATION_MESSAGE_BYTES: usize = 4096;
/// With `FallbackToLogsOnError`, the kubelet takes at most the last 80 lines of the log...
const MAX_FALLBACK_LOG_LINES: usize = 80;
/// ...and of those at most the last 2 KiB.
const MAX_FALLBACK_LOG_BYTES: usize = 2048;

/// Stand-in for an image's entry point: it works through the [`Container`] and returns the
/// exit code.
#[derive(Clone)]
pub struct Program(Arc<dyn Fn(&mut Container) -> i32 + Send + Sync>);

impl Program {
    /// A program running `entry_point`.
    pub fn new(entry_point: impl Fn(&mut Container) -> i32 + Send + Sync + 'static) -> Self {
        Self(Arc::new(entry_point))
    }

    pub(crate) fn run(&self, container: &mut Container) -> i32 {
        (self.0)(container)
    }
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Program(..)")
    }
}

/// Two programs are equal when they are the same closure.
impl PartialEq for Program {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Program {}

/// Why a write failed, as the system call would say.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteError {
    /// The path is on a read-only mount or a read-only root filesystem.
    #[error("{path}: Read-only file system")]
    ReadOnly {
        /// The path written to.
        path: String,
    },
}

/// What a [`Program`] sees of its container while it runs.
pub struct Container {
    command: Vec<String>,
    args: Vec<String>,
    image: String,
    mounts: Vec<Mount>,
    volumes: HashMap<Backing, Files>,
    termination_path: Vec<String>,
    termination_file: Vec<u8>,
    log: String,
}

/// What holds the files under a mount point.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Backing {
    /// A PersistentVolumeClaim's volume, kept on the node across pods.
    Claim(String),
    /// Anything that lives and dies with the pod: the container's root, an `emptyDir`, or a
    /// projected Secret or ConfigMap (whose keys are not simulated).
    Scratch(String),
}

#[derive(Debug)]
struct Mount {
    path: Vec<String>,
    backing: Backing,
    sub_path: Vec<String>,
    read_only: bool,
}

/// A container that has exited.
pub(crate) struct Exited {
    pub(crate) exit_code: i32,
    pub(crate) log: String,
    /// `state.terminated.message`, chosen the way the kubelet chooses it.
    pub(crate) message: Option<String>,
}

impl Container {
    /// Prepares `container` of a pod with `pod_spec` in `namespace`: its mounts, its claims'
    /// files read from the node, and the termination-log mount point.
    pub(crate) fn start(node: &Node, namespace: &str, pod_spec: &Value, container: &Value) -> Self {
        let strings = |value: &Value| -> Vec<String> {
            value
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect()
        };
        let mut mounts = vec![Mount {
            path: Vec::new(),
            backing: Backing::Scratch(String::new()),
            sub_path: Vec::new(),
            read_only: container["securityContext"]["readOnlyRootFilesystem"] == true,
        }];
        for mount in container["volumeMounts"].as_array().into_iter().flatten() {
            let name = mount["name"].as_str().unwrap_or_default();
            let volume = pod_spec["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|volume| volume["name"] == name);
            let claim = volume.and_then(|volume| volume["persistentVolumeClaim"].as_object());
            let (backing, claim_read_only) = match claim {
                Some(claim) => (
                    Backing::Claim(
                        claim
                            .get("claimName")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    ),
                    claim.get("readOnly") == Some(&Value::Bool(true)),
                ),
                None => (Backing::Scratch(name.to_owned()), false),
            };
            mounts.push(Mount {
                path: components(mount["mountPath"].as_str().unwrap_or_default()),
                backing,
                sub_path: components(mount["subPath"].as_str().unwrap_or_default()),
                read_only: claim_read_only || mount["readOnly"] == true,
            });
        }
        let volumes = mounts
            .iter()
            .map(|mount| {
                let files = match &mount.backing {
                    Backing::Claim(claim) => node.volume(namespace, claim),
                    Backing::Scratch(_) => Files::new(),
                };
                (mount.backing.clone(), files)
            })
            .collect();
        let termination_path = components(
            container["terminationMessagePath"]
                .as_str()
                .unwrap_or(DEFAULT_TERMINATION_MESSAGE_PATH),
        );
        let mut started = Self {
            command: strings(&container["command"]),
            args: strings(&container["args"]),
            image: container["image"].as_str().unwrap_or_default().to_owned(),
            mounts,
            volumes,
            termination_path,
            termination_file: Vec::new(),
            log: String::new(),
        };
        // The bind mount needs a mount point: an empty file appears where the path is, on the
        // volume when the path is inside one, before the process starts.
        let (backing, relative, _) = started.resolve(&started.termination_path);
        if let Some(files) = started.volumes.get_mut(&backing) {
            files.entry(relative).or_default();
        }
        started
    }

    /// Runs `program`, then writes the claims' files back to the node and reports the exit
    /// as the kubelet does, with `policy` as `terminationMessagePolicy`.
    pub(crate) fn run(
        mut self,
        program: &Program,
        node: &Node,
        namespace: &str,
        policy: Option<&str>,
    ) -> Exited {
        let exit_code = program.run(&mut self);
        for (backing, files) in self.volumes {
            if let Backing::Claim(claim) = backing {
                node.set_volume(namespace, &claim, files);
            }
        }
        let message = termination_message(&self.termination_file, &self.log, policy, exit_code);
        Exited {
            exit_code,
            log: self.log,
            message,
        }
    }

    /// The container's `command` (empty: the image's entry point).
    pub fn command(&self) -> &[String] {
        &self.command
    }

    /// The container's `args`.
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// The container's image.
    pub fn image(&self) -> &str {
        &self.image
    }

    /// Whether a file or directory exists at the absolute `path`.
    pub fn exists(&self, path: &str) -> bool {
        let path = components(path);
        if path == self.termination_path {
            return true;
        }
        let (backing, relative, _) = self.resolve(&path);
        if relative.is_empty() {
            return true;
        }
        let directory = format!("{relative}/");
        self.volumes.get(&backing).is_some_and(|files| {
            files.contains_key(&relative) || files.keys().any(|file| file.starts_with(&directory))
        })
    }

    /// The content of the file at the absolute `path`, if there is one.
    pub fn read(&self, path: &str) -> Option<Vec<u8>> {
        let path = components(path);
        if path == self.termination_path {
            return Some(self.termination_file.clone());
        }
        let (backing, relative, _) = self.resolve(&path);
        self.volumes.get(&backing)?.get(&relative).cloned()
    }

    /// Writes the file at the absolute `path`, creating its directories.
    ///
    /// # Errors
    /// [`WriteError::ReadOnly`] when the path is on a read-only mount or root.
    pub fn write(&mut self, path: &str, content: &[u8]) -> Result<(), WriteError> {
        let components = components(path);
        if components == self.termination_path {
            content.clone_into(&mut self.termination_file);
            return Ok(());
        }
        let (backing, relative, read_only) = self.resolve(&components);
        if read_only || relative.is_empty() {
            return Err(WriteError::ReadOnly {
                path: path.to_owned(),
            });
        }
        self.volumes
            .entry(backing)
            .or_default()
            .insert(relative, content.to_vec());
        Ok(())
    }

    /// Prints a line on standard output.
    pub fn stdout(&mut self, line: &str) {
        self.log.push_str(line);
        self.log.push('\n');
    }

    /// Prints a line on standard error (the log interleaves both, as the kubelet's does).
    pub fn stderr(&mut self, line: &str) {
        self.stdout(line);
    }

    /// The backing, the path inside it and whether it is read-only, for absolute `path`.
    fn resolve(&self, path: &[String]) -> (Backing, String, bool) {
        let mount = self
            .mounts
            .iter()
            .filter(|mount| path.starts_with(&mount.path))
            .max_by_key(|mount| mount.path.len())
            .expect("the root mount holds every path");
        let relative: Vec<&str> = mount
            .sub_path
            .iter()
            .chain(&path[mount.path.len()..])
            .map(String::as_str)
            .collect();
        (mount.backing.clone(), relative.join("/"), mount.read_only)
    }
}

/// The components of an absolute path, with `.` and `..` resolved.
fn components(path: &str) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part.to_owned()),
        }
    }
    parts
}

/// The termination message the kubelet reports: the end of the termination-log file, or,
/// when that is empty, the policy is `FallbackToLogsOnError` and the container failed, the end
/// of its log (`kuberuntime_container.go`, `getTerminationMessage` and
/// `readLastStringFromContainerLogs`).
pub(crate) fn termination_message(
    file: &[u8],
    log: &str,
    policy: Option<&str>,
    exit_code: i32,
) -> Option<String> {
    if !file.is_empty() {
        let start = file.len().saturating_sub(MAX_TERMINATION_MESSAGE_BYTES);
        return Some(String::from_utf8_lossy(&file[start..]).into_owned());
    }
    if policy != Some("FallbackToLogsOnError") || exit_code == 0 || log.is_empty() {
        return None;
    }
    let lines: Vec<&str> = log.split_inclusive('\n').collect();
    let tail = lines[lines.len().saturating_sub(MAX_FALLBACK_LOG_LINES)..].concat();
    let start = tail.len().saturating_sub(MAX_FALLBACK_LOG_BYTES);
    Some(String::from_utf8_lossy(&tail.as_bytes()[start..]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(file: &[u8], log: &str, policy: Option<&str>, exit_code: i32, expected: Option<&str>) {
        assert_eq!(
            termination_message(file, log, policy, exit_code).as_deref(),
            expected,
            "{policy:?} exit {exit_code}"
        );
    }

    #[test]
    fn termination_messages_follow_the_kubelet() {
        let fallback = Some("FallbackToLogsOnError");
        // The file wins whatever the policy and the exit code, and only its last 4 KiB.
        check(b"done", "log\n", None, 0, Some("done"));
        check(b"done", "log\n", fallback, 1, Some("done"));
        check(&[b'm'; 5000], "", None, 0, Some(&"m".repeat(4096)));
        // An empty file and the default policy: no message.
        check(b"", "error\n", None, 1, None);
        check(b"", "error\n", Some("File"), 1, None);
        // The log only for a failed container...
        check(b"", "result\n", fallback, 0, None);
        check(b"", "error\n", fallback, 2, Some("error\n"));
        // ...at most its last 80 lines, and of those at most the last 2 KiB.
        let many_lines: String = (0..100).map(|n| format!("line {n}\n")).collect();
        let last_80: String = (20..100).map(|n| format!("line {n}\n")).collect();
        check(b"", &many_lines, fallback, 1, Some(&last_80));
        let long_log = format!("{}\n", "x".repeat(100)).repeat(30);
        check(
            b"",
            &long_log,
            fallback,
            1,
            Some(&long_log[long_log.len() - 2048..]),
        );
    }

    #[test]
    fn paths_resolve_to_the_deepest_mount() {
        let node = Node::default();
        let mut files = Files::new();
        files.insert("export/events".into(), b"e".to_vec());
        node.set_volume("ns", "claim", files);
        let pod_spec = serde_json::json!({"volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": "claim"}},
            {"name": "tmp", "emptyDir": {}},
        ]});
        let container = serde_json::json!({
            "securityContext": {"readOnlyRootFilesystem": true},
            "volumeMounts": [
                {"name": "data", "mountPath": "/data"},
                {"name": "tmp", "mountPath": "/tmp"},
            ],
        });
        let mut running = Container::start(&node, "ns", &pod_spec, &container);
        assert!(running.exists("/data/export"));
        assert!(running.exists("/data/./export/../export/events"));
        assert_eq!(running.read("/data/export/events"), Some(b"e".to_vec()));
        assert!(running.exists("/dev/termination-log"));
        assert_eq!(
            running.write("/etc/x", b"x"),
            Err(WriteError::ReadOnly {
                path: "/etc/x".into()
            })
        );
        running.write("/tmp/x", b"x").unwrap();
        running.write("/data/new", b"n").unwrap();
        let exited = running.run(&Program::new(|_| 0), &node, "ns", None);
        assert_eq!(exited.exit_code, 0);
        let stored = node.volume("ns", "claim");
        assert_eq!(
            stored.keys().collect::<Vec<_>>(),
            ["export/events", "new"],
            "emptyDir and root files stay with the pod"
        );
    }
}
