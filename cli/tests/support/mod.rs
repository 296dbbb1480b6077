//! What the binary's tests share: running `neonhub-db`, and a temporary
//! directory removed afterwards.

#![allow(dead_code, clippy::expect_used)] // each test binary uses a part

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs `neonhub-db` with `args` (no `DATABASE_URL` from outside).
pub fn neonhub_db(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_neonhub-db"))
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run neonhub-db")
}

/// Exit code, stdout and stderr, for an assertion's message.
pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A fresh directory under the system's temporary one, removed on drop.
pub struct Dir(pub PathBuf);

impl Dir {
    /// `<tmp>/<name>_<pid>`, created empty.
    pub fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("{name}_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create the test directory");
        Self(path)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
