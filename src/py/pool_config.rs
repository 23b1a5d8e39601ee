use super::errors::config_error;
use crate::config::PoolSettings;
use pyo3::prelude::*;

/// Connection pool settings, validated at construction.
#[pyclass(module = "fastmssql", frozen)]
pub struct PoolConfig {
    pub(crate) settings: PoolSettings,
}

impl PoolConfig {
    fn preset(max_size: u32, min_idle: u32) -> PyResult<Self> {
        Self::new(max_size, min_idle, 1800, 600, 30)
    }
}

#[pymethods]
impl PoolConfig {
    #[new]
    #[pyo3(signature = (max_size=10, min_idle=2, max_lifetime_secs=1800, idle_timeout_secs=600, connection_timeout_secs=30))]
    fn new(
        max_size: u32,
        min_idle: u32,
        max_lifetime_secs: u64,
        idle_timeout_secs: u64,
        connection_timeout_secs: u64,
    ) -> PyResult<Self> {
        PoolSettings::new(max_size, min_idle, max_lifetime_secs, idle_timeout_secs, connection_timeout_secs)
            .map(|settings| Self { settings })
            .map_err(config_error)
    }

    /// One connection (fastmssql 0.7.7's preset).
    #[staticmethod]
    fn one() -> PyResult<Self> {
        Self::preset(1, 1)
    }

    /// max_size=3, min_idle=1 (0.7.7's preset).
    #[staticmethod]
    fn low_resource() -> PyResult<Self> {
        Self::preset(3, 1)
    }

    /// max_size=5, min_idle=1 (0.7.7's preset).
    #[staticmethod]
    fn development() -> PyResult<Self> {
        Self::preset(5, 1)
    }

    /// max_size=25, min_idle=8 (0.7.7's preset).
    #[staticmethod]
    fn high_throughput() -> PyResult<Self> {
        Self::preset(25, 8)
    }

    /// max_size=30, min_idle=10 (0.7.7's preset).
    #[staticmethod]
    fn performance() -> PyResult<Self> {
        Self::preset(30, 10)
    }

    /// Sized for `concurrent_workers` tasks: max_size = ceil(workers * 1.2) + 5
    /// (0.7.7's formula), a quarter of the workers kept idle.
    #[staticmethod]
    fn adaptive(concurrent_workers: u32) -> PyResult<Self> {
        let max_size = concurrent_workers.saturating_mul(6).div_ceil(5).saturating_add(5);
        Self::preset(max_size, concurrent_workers.div_ceil(4).clamp(1, max_size))
    }

    #[getter]
    fn max_size(&self) -> u32 {
        self.settings.max_size
    }

    #[getter]
    fn min_idle(&self) -> u32 {
        self.settings.min_idle
    }

    #[getter]
    fn max_lifetime_secs(&self) -> u64 {
        self.settings.max_lifetime_secs
    }

    #[getter]
    fn idle_timeout_secs(&self) -> u64 {
        self.settings.idle_timeout_secs
    }

    #[getter]
    fn connection_timeout_secs(&self) -> u64 {
        self.settings.connection_timeout_secs
    }

    fn __repr__(&self) -> String {
        let s = &self.settings;
        format!(
            "PoolConfig(max_size={}, min_idle={}, max_lifetime_secs={}, idle_timeout_secs={}, connection_timeout_secs={})",
            s.max_size, s.min_idle, s.max_lifetime_secs, s.idle_timeout_secs, s.connection_timeout_secs
        )
    }
}
