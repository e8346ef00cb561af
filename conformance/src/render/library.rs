//! The `libhelm_c.so` engine: Helm v4's Go SDK behind a C ABI, as helm-python-sdk ships it.
//!
//! The ABI (helm-python-sdk's `helm_python/_native.py`, `SIGNATURES`): every call returns an
//! `int32` status (0 is success) and hands out strings through `char**` out-parameters that
//! the caller frees with `helm_free_string`; charts are `uint64` handles freed with
//! `helm_chart_free`. The Go runtime cannot be unloaded, so the library stays loaded for the
//! life of the process.
//!
//! Calling a C ABI takes `unsafe`; this module is the only one of the suite's library that
//! may use it, and every block says why it holds.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char, c_void};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Deserialize;

use super::{ChartRenderer, LintMessage, LintReport, Release, RenderError, Rendered, Severity};

type LoadFn = unsafe extern "C" fn(*const c_char, *mut u64, *mut *mut c_char) -> i32;
type RenderFn = unsafe extern "C" fn(u64, *const c_char, *const c_char, *mut *mut c_char, *mut *mut c_char) -> i32;
type LintFn =
    unsafe extern "C" fn(*const c_char, *const c_char, *const c_char, *mut *mut c_char, *mut *mut c_char) -> i32;
type SchemaFn = unsafe extern "C" fn(u64, *const c_char, *mut *mut c_char) -> i32;
type FreeHandleFn = unsafe extern "C" fn(u64, *mut *mut c_char) -> i32;
type FreeStringFn = unsafe extern "C" fn(*mut c_void);
type VersionFn = unsafe extern "C" fn() -> *mut c_char;

/// The entry points this crate uses, resolved once.
struct Abi {
    chart_load: LoadFn,
    chart_free: FreeHandleFn,
    render: RenderFn,
    lint: LintFn,
    schema_validate: SchemaFn,
    free_string: FreeStringFn,
    sdk_version: VersionFn,
    /// Where it was loaded from.
    path: PathBuf,
    /// Keeps the code behind the function pointers mapped.
    _library: libloading::Library,
}

/// Libraries loaded so far, by path; never unloaded (a Go runtime cannot be).
static LOADED: OnceLock<std::sync::Mutex<Vec<&'static Abi>>> = OnceLock::new();

/// Renders with `libhelm_c.so` (Helm's Go SDK) loaded in-process.
#[derive(Clone, Copy)]
pub struct HelmLibrary {
    abi: &'static Abi,
}

impl std::fmt::Debug for HelmLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HelmLibrary").field("path", &self.abi.path).finish()
    }
}

impl HelmLibrary {
    /// The places [`Self::locate`] looks, in order: `HELM_C_LIB` (a file, or a directory
    /// holding `libhelm_c.so`), then `.venv/lib/python3*/site-packages/helm_python/lib/libhelm_c.so`
    /// under the current directory and each of its parents.
    pub fn candidates() -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Some(explicit) = std::env::var_os("HELM_C_LIB").map(PathBuf::from) {
            if explicit.is_dir() {
                out.push(explicit.join("libhelm_c.so"));
            } else {
                out.push(explicit);
            }
        }
        let cwd = std::env::current_dir().unwrap_or_default();
        for dir in cwd.ancestors() {
            let lib = dir.join(".venv/lib");
            let Ok(entries) = std::fs::read_dir(&lib) else { continue };
            let mut pythons: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("python3"))
                })
                .collect();
            pythons.sort();
            out.extend(
                pythons
                    .into_iter()
                    .map(|p| p.join("site-packages/helm_python/lib/libhelm_c.so")),
            );
        }
        out
    }

    /// Loads the first existing library of [`Self::candidates`].
    ///
    /// # Errors
    /// [`RenderError::EngineNotFound`] listing the paths tried, or [`RenderError::Library`].
    pub fn locate() -> Result<Self, RenderError> {
        let searched = Self::candidates();
        match searched.iter().find(|p| p.is_file()) {
            Some(path) => Self::load(path),
            None => Err(RenderError::EngineNotFound { searched }),
        }
    }

    /// Loads the library at `path` (once per process; later calls reuse it).
    ///
    /// # Errors
    /// [`RenderError::Library`] when it cannot be loaded or lacks an entry point.
    pub fn load(path: &Path) -> Result<Self, RenderError> {
        let loaded = LOADED.get_or_init(Default::default);
        let mut loaded = loaded.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(abi) = loaded.iter().find(|abi| abi.path == path) {
            return Ok(Self { abi });
        }
        let wrap = |source| RenderError::Library {
            path: path.to_path_buf(),
            source,
        };
        // SAFETY: loading runs the library's initialisers; libhelm_c.so is a Go c-shared
        // library whose initialiser only starts the Go runtime.
        let library = unsafe { libloading::Library::new(path) }.map_err(wrap)?;
        let abi = unsafe { resolve(library, path) }.map_err(wrap)?;
        let abi: &'static Abi = Box::leak(Box::new(abi));
        loaded.push(abi);
        Ok(Self { abi })
    }

    /// The Helm SDK version compiled into the library (`v4.2.3`).
    pub fn sdk_version(&self) -> String {
        // SAFETY: helm_sdk_version takes nothing and returns an owned string or NULL.
        let ptr = unsafe { (self.abi.sdk_version)() };
        self.take(ptr).unwrap_or_default()
    }

    /// Copies and frees a string the library handed out.
    fn take(&self, ptr: *mut c_char) -> Option<String> {
        if ptr.is_null() {
            return None;
        }
        // SAFETY: the library returns NUL-terminated strings it allocated; each is freed once.
        let text = unsafe { CStr::from_ptr(ptr) }.to_string_lossy().into_owned();
        unsafe { (self.abi.free_string)(ptr.cast()) };
        Some(text)
    }

    /// Turns a status and its error string into a result.
    fn check(&self, operation: &'static str, status: i32, err: *mut c_char) -> Result<(), RenderError> {
        let detail = self.take(err);
        if status == 0 {
            return Ok(());
        }
        let detail = detail.unwrap_or_else(|| format!("status {status} without a message"));
        Err(RenderError::from_helm(operation, &detail))
    }

    /// Loads `chart` and runs `f` with its handle, freeing the handle afterwards.
    fn with_chart<T>(&self, chart: &Path, f: impl FnOnce(u64) -> Result<T, RenderError>) -> Result<T, RenderError> {
        let path = c_string("chart path", &chart.to_string_lossy())?;
        let mut handle = 0u64;
        let mut err = std::ptr::null_mut();
        // SAFETY: valid C string in, out-parameters point to live locals.
        let status = unsafe { (self.abi.chart_load)(path.as_ptr(), &mut handle, &mut err) };
        self.check("load chart", status, err)?;
        let result = f(handle);
        let mut err = std::ptr::null_mut();
        // SAFETY: the handle came from chart_load and is freed once.
        unsafe { (self.abi.chart_free)(handle, &mut err) };
        self.take(err);
        result
    }
}

/// Resolves every entry point; a missing one means a library of another ABI.
unsafe fn resolve(library: libloading::Library, path: &Path) -> Result<Abi, libloading::Error> {
    // SAFETY: the types match helm_c.h as declared in helm-python-sdk 0.2.2's SIGNATURES.
    unsafe {
        Ok(Abi {
            chart_load: *library.get::<LoadFn>(b"helm_chart_load\0")?,
            chart_free: *library.get::<FreeHandleFn>(b"helm_chart_free\0")?,
            render: *library.get::<RenderFn>(b"helm_render\0")?,
            lint: *library.get::<LintFn>(b"helm_lint_run_opts\0")?,
            schema_validate: *library.get::<SchemaFn>(b"helm_schema_validate\0")?,
            free_string: *library.get::<FreeStringFn>(b"helm_free_string\0")?,
            sdk_version: *library.get::<VersionFn>(b"helm_sdk_version\0")?,
            path: path.to_path_buf(),
            _library: library,
        })
    }
}

fn c_string(what: &'static str, text: &str) -> Result<CString, RenderError> {
    CString::new(text).map_err(|_| RenderError::NulByte { what })
}

/// `helm_lint_run_opts`' answer.
#[derive(Deserialize)]
struct LintAnswer {
    #[serde(default)]
    messages: Vec<LintAnswerMessage>,
}

#[derive(Deserialize)]
struct LintAnswerMessage {
    severity: i64,
    #[serde(default)]
    path: String,
    #[serde(default)]
    error: String,
}

impl ChartRenderer for HelmLibrary {
    fn describe(&self) -> String {
        format!("libhelm_c ({}, Helm {})", self.abi.path.display(), self.sdk_version())
    }

    fn render(&self, chart: &Path, values: &serde_json::Value, release: &Release) -> Result<Rendered, RenderError> {
        let values = c_string("values", &values.to_string())?;
        let options = serde_json::json!({
            "name": release.name, "namespace": release.namespace, "is_install": true, "revision": 1,
        });
        let options = c_string("options", &options.to_string())?;
        let answer = self.with_chart(chart, |handle| {
            let (mut out, mut err) = (std::ptr::null_mut(), std::ptr::null_mut());
            // SAFETY: live handle, valid C strings, out-parameters point to live locals.
            let status = unsafe { (self.abi.render)(handle, values.as_ptr(), options.as_ptr(), &mut out, &mut err) };
            let out = self.take(out);
            self.check("render", status, err)?;
            Ok(out.unwrap_or_default())
        })?;
        let files = serde_json::from_str(&answer).map_err(|source| RenderError::Answer { what: "render", source })?;
        Ok(Rendered::from_files(files))
    }

    fn lint(&self, chart: &Path, values: &serde_json::Value, namespace: &str) -> Result<LintReport, RenderError> {
        let path = c_string("chart path", &chart.to_string_lossy())?;
        let values = c_string("values", &values.to_string())?;
        let options = serde_json::json!({"strict": true, "namespace": namespace});
        let options = c_string("options", &options.to_string())?;
        let (mut out, mut err) = (std::ptr::null_mut(), std::ptr::null_mut());
        // SAFETY: valid C strings in, out-parameters point to live locals.
        let status = unsafe { (self.abi.lint)(path.as_ptr(), values.as_ptr(), options.as_ptr(), &mut out, &mut err) };
        let out = self.take(out);
        self.check("lint", status, err)?;
        let answer: LintAnswer = serde_json::from_str(&out.unwrap_or_else(|| "{}".into()))
            .map_err(|source| RenderError::Answer { what: "lint", source })?;
        let messages = answer
            .messages
            .into_iter()
            .map(|m| LintMessage {
                severity: match m.severity {
                    3 => Severity::Error,
                    2 => Severity::Warning,
                    _ => Severity::Info,
                },
                path: m.path,
                text: m.error.trim().to_string(),
            })
            .collect();
        Ok(LintReport { messages })
    }

    fn validate_schema(&self, chart: &Path, values: &serde_json::Value) -> Result<(), RenderError> {
        let values = c_string("values", &values.to_string())?;
        self.with_chart(chart, |handle| {
            let mut err = std::ptr::null_mut();
            // SAFETY: live handle, valid C string, out-parameter points to a live local.
            let status = unsafe { (self.abi.schema_validate)(handle, values.as_ptr(), &mut err) };
            self.check("validate values", status, err).map_err(|e| match e {
                RenderError::Helm { detail, .. } => RenderError::Schema { detail },
                other => other,
            })
        })
    }
}
