//! The simulation of a server-side copy: the [`Sim`] drives a machine in its copy mode against
//! the [`FakeOss`](super::FakeOss), which holds the source (see
//! [`FakeOss::put_zeros_object`](super::FakeOss::put_zeros_object) for sources larger than
//! memory). No byte passes through the simulated driver.

use std::time::Duration;

use super::Sim;
use crate::config::Config;
use crate::copy::CopySource;
use crate::error::PlanError;
use crate::upload::Upload;

impl Sim {
    /// Simulates a crash of the driver of a copy, like [`crash_and_resume`](Self::crash_and_resume):
    /// a new machine continues from the last persisted checkpoint of the copy of `source`
    /// (or starts it again, checkpointing, when none was persisted).
    ///
    /// # Errors
    /// Whatever the resume constructor reports ([`PlanError::SourceChanged`] when `source`
    /// is not the object the checkpoint's parts were copied from).
    pub fn crash_and_resume_copy(
        &mut self,
        source: &CopySource,
        config: Config,
        seed: u64,
    ) -> Result<(), PlanError> {
        self.timeline.clear();
        self.timeline.now += Duration::from_secs(1);
        let now = self.timeline.now;
        let upload = match &self.checkpoint {
            Some(cp) => Upload::copy_from_checkpoint(cp, source, config, now, seed)?,
            None => {
                let plan = self.upload.plan().clone();
                let target = self.upload.target().clone();
                Upload::copy_with_checkpointing(target, source.clone(), plan, config, now, seed)?
            }
        };
        self.upload = upload;
        self.outcome = None;
        self.last_confirmed = 0;
        Ok(())
    }
}
