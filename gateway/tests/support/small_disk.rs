//! A small filesystem of the test's own (a `tmpfs` with a size limit,
//! mounted on a temp directory), to run a gateway's data directory out of
//! space and give the space back. Needs root (as in CI); when mounting is
//! impossible the test fails with the reason, never skips. Unmounted on
//! drop. Never touches anything outside its mount point.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A mounted size-limited tmpfs.
pub struct SmallDisk {
    mount_point: PathBuf,
    filler: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (e.g. `"16m"`) on a fresh temp directory.
    pub fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mount_point = dir.path().join("disk");
        std::fs::create_dir(&mount_point).expect("mount point");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&mount_point)
            .output()
            .unwrap_or_else(|e| panic!("cannot run mount: {e}"));
        assert!(
            out.status.success(),
            "cannot mount a {size} tmpfs on {} (the disk-full test needs root, as in CI): {}",
            mount_point.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Self {
            filler: mount_point.join("filler"),
            mount_point,
            _dir: dir,
        }
    }

    pub fn path(&self) -> &Path {
        &self.mount_point
    }

    /// Writes a filler file until the filesystem has no space left;
    /// returns the bytes written.
    pub fn fill(&self) -> u64 {
        let mut file = std::fs::File::create(&self.filler).expect("create filler");
        let chunk = vec![0xa5u8; 64 * 1024];
        let mut written = 0u64;
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if e.raw_os_error() == Some(28) => break,
                Err(e) => panic!("filling {}: {e}", self.filler.display()),
            }
        }
        written
    }

    /// Deletes the filler: the space is back.
    pub fn free(&self) {
        std::fs::remove_file(&self.filler).expect("remove filler");
    }

    /// Free bytes on the filesystem, from `df`.
    pub fn available(&self) -> u64 {
        let out = Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(&self.mount_point)
            .output()
            .expect("df");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("df said {:?}", String::from_utf8_lossy(&out.stdout)))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazy: a process that still has a file open there cannot keep
        // the mount (and the test's temp dir) around.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&self.mount_point)
            .status();
    }
}
