use super::errors::config_error;
use crate::config::PoolSettings;
use pyo3::prelude::*;

/// Connection pool settings, validated at construction.
#[pyclass(module = "fastmssql", frozen)]
pub struct PoolConfig {
    pub(crate) settings: PoolSettings,
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
