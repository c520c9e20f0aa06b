pub struct StatusReport;
