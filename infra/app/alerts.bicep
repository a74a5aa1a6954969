// Azure Monitor alerts on pgkeep's own telemetry (issue 13; README "Health and alerts"): a backup that failed or was
// missed, and a backup instance in Critical health, each notify one action group by email. The app exports the
// metrics these rules query through OpenTelemetry (shared/adapters/telemetry/telemetry.ts): pgkeep.jobs (a counter,
// dimensions operation, status, error.code) and pgkeep.instances (a gauge per health.status, set by the watchdog).

param actionGroupName string
param ruleNamePrefix string
param location string
param tags object = {}
param applicationInsightsName string
@description('email address the action group notifies')
param alertEmail string

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'pgkeep'
    enabled: true
    emailReceivers: [{ name: 'operator', emailAddress: alertEmail, useCommonAlertSchema: true }]
  }
}

// One failed (or missed: UserErrorBackupMissed) backup in the last 15 minutes pages at once.
resource backupFailed 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${ruleNamePrefix}backup-failed'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'pgkeep: a backup failed or was missed'
    description: 'A Backup job ended Failed (pgkeep.jobs). The job, its error code and recommended action are in GET /api/backupJobs?status=Failed and in the traces table.'
    severity: 1
    enabled: true
    scopes: [applicationInsights.id]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: 'customMetrics | where name == "pgkeep.jobs" | where tostring(customDimensions["operation"]) == "Backup" and tostring(customDimensions["status"]) == "Failed" | summarize failed = sum(valueSum) by errorCode = tostring(customDimensions["error.code"])'
          timeAggregation: 'Total'
          metricMeasureColumn: 'failed'
          dimensions: [{ name: 'errorCode', operator: 'Include', values: ['*'] }]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    autoMitigate: true
    actions: { actionGroups: [actionGroup.id] }
  }
}

// The watchdog sets pgkeep.instances every WATCHDOG_SCHEDULE (5 min): any Critical instance pages.
resource healthCritical 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${ruleNamePrefix}health-critical'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'pgkeep: a backup instance is Critical'
    description: 'An instance has no recent recovery point, fails readiness, or its newest point failed its integrity check. GET /api/health lists which and why.'
    severity: 0
    enabled: true
    scopes: [applicationInsights.id]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: 'customMetrics | where name == "pgkeep.instances" and tostring(customDimensions["health.status"]) == "Critical" | summarize critical = max(valueMax)'
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'critical'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    autoMitigate: true
    actions: { actionGroups: [actionGroup.id] }
  }
}

output actionGroupId string = actionGroup.id
