// lnopt's page: the channel table, the advise queue, the history of fee changes with their
// rollbacks, charts and settings. Every request goes through LNbits.api.request with the
// login cookie (the routes want an admin account; changes the super user).

const API = '/lnopt/api/v1'
const GUARD_FIELDS = [
  {key: 'min_fee_ppm', label: 'Lowest fee rate (ppm)'},
  {key: 'max_fee_ppm', label: 'Highest fee rate (ppm)'},
  {key: 'min_base_fee_msat', label: 'Lowest base fee (msat)'},
  {key: 'max_base_fee_msat', label: 'Highest base fee (msat)'},
  {key: 'max_step_ppm', label: 'Largest step (ppm)'},
  {key: 'max_step_pct', label: 'Largest step (%)'},
  {key: 'max_changes_per_day', label: 'Changes per channel a day'},
  {key: 'cooldown', label: 'Cooldown (s)'}
]

// What every table of the page shares; each names its row key, page size (0: one page), the
// text when it is empty, and its columns.
function tableOptions(rowKey, rowsPerPage, noDataLabel, columns) {
  return {flat: true, dense: true, rowKey, columns, noDataLabel,
    pagination: {rowsPerPage}, hidePagination: rowsPerPage === 0}
}

window.app = Vue.createApp({
  el: '#vue',
  mixins: [windowMixin],
  data() {
    return {
      tab: 'channels',
      superUser: window.LNOPT_SUPER_USER === true,
      loading: false,
      busy: false,
      status: null,
      channels: [],
      queued: [],
      changes: [],
      charts: null,
      form: {},
      settingsError: '',
      guardFields: GUARD_FIELDS,
      confirm: {show: false, title: '', changes: [], go: null},
      channelTable: tableOptions('short_channel_id', 0, 'No channels scored yet', [
        {name: 'expand', label: '', field: 'short_channel_id'},
        {name: 'short_channel_id', label: 'Channel', field: 'short_channel_id', align: 'left'},
        {name: 'score', label: 'Score', field: 'score', sortable: true},
        {name: 'liquidity', label: 'Liquidity', field: 'local_ratio', align: 'left'},
        {name: 'fees', label: 'Fees now', field: 'current', align: 'left'},
        {name: 'action', label: 'Decision', field: 'action', align: 'left'},
        {name: 'reasons', label: 'Why', field: 'reasons', align: 'left'}
      ]),
      historyTable: tableOptions('change_id', 20, 'lnopt has changed no fee yet', [
        {name: 'change_id', label: '#', field: 'change_id', align: 'left'},
        {name: 'batch_id', label: 'Batch', field: 'batch_id', align: 'left'},
        {name: 'created_at', label: 'When', field: 'created_at', align: 'left',
          format: v => new Date(v * 1000).toLocaleString()},
        {name: 'short_channel_id', label: 'Channel', field: 'short_channel_id', align: 'left'},
        {name: 'old', label: 'Before', field: 'old', align: 'left', format: v => this.policyText(v)},
        {name: 'new', label: 'After', field: 'new', align: 'left', format: v => this.policyText(v)},
        {name: 'status', label: 'Status', field: row => this.changeStatus(row), align: 'left'},
        {name: 'actions', label: '', field: 'change_id'}
      ])
    }
  },
  methods: {
    get(path) {
      return LNbits.api.request('GET', API + path, null)
    },
    send(method, path, data) {
      return LNbits.api.request(method, API + path, null, data)
    },
    percent(ratio) {
      return Math.round((ratio || 0) * 100) + '%'
    },
    policyText(policy) {
      if (!policy) return '—'
      return policy.fee_ppm + ' ppm + ' + policy.fee_base_msat + ' msat'
    },
    actionColor(action) {
      return {keep: 'grey', raise_fees: 'orange', lower_fees: 'blue',
        rebalance: 'purple', close: 'negative'}[action] || 'grey'
    },
    changeStatus(row) {
      if (row.rollback_of) return 'restores #' + row.rollback_of
      if (row.rolled_back_by) return 'rolled back by #' + row.rolled_back_by
      return row.status
    },
    canRollBack(row) {
      return row.status === 'done' && !row.rollback_of && !row.rolled_back_by
    },
    async loadAll() {
      this.loading = true
      try {
        const [status, score, recommend, history, settings] = await Promise.all([
          this.get('/status'), this.get('/score'), this.get('/recommend'),
          this.get('/history?limit=200'), this.get('/settings')
        ])
        this.status = status.data
        const decisions = {}
        recommend.data.recommendations.forEach(r => (decisions[r.short_channel_id] = r))
        this.channels = score.data.channels.map(channel => {
          const decision = decisions[channel.short_channel_id] || {}
          const liquidity = (channel.parts.liquidity || {}).raw || {}
          return {...channel, ...decision, score: channel.score, parts: channel.parts,
            local_ratio: liquidity.local_ratio || 0, reasons: decision.reasons || []}
        })
        this.queued = recommend.data.queued
        this.changes = history.data.changes
        this.fillForm(settings.data)
        if (this.tab === 'charts') await this.loadCharts()
      } catch (error) {
        LNbits.utils.notifyApiError(error)
      } finally {
        this.loading = false
      }
    },
    fillForm(document) {
      this.form = {...document,
        exclude_channel_text: (document.exclude_channel || []).join('\n'),
        exclude_peer_text: (document.exclude_peer || []).join('\n')}
    },
    async runNow() {
      this.busy = true
      try {
        const {data} = await this.send('POST', '/run')
        Quasar.Notify.create({type: 'positive', message:
          'Run ' + data.run_id + ': ' + data.decisions + ' decisions, ' + data.proposals + ' proposals'})
        await this.loadAll()
      } catch (error) {
        LNbits.utils.notifyApiError(error)
      } finally {
        this.busy = false
      }
    },
    async approve(proposal) {
      try {
        const {data} = await this.send('POST', '/approve', {proposal: proposal.proposal_id})
        Quasar.Notify.create({type: 'positive', message:
          'Applied ' + data.changes.length + ' change(s), batch ' + data.batch_id})
        await this.loadAll()
      } catch (error) {
        LNbits.utils.notifyApiError(error)
      }
    },
    async reject(proposal) {
      try {
        await this.send('POST', '/reject', {proposal: proposal.proposal_id})
        await this.loadAll()
      } catch (error) {
        LNbits.utils.notifyApiError(error)
      }
    },
    async showDryRun(title, path, body) {
      try {
        const {data} = await this.send('POST', path, {...body, dryrun: true})
        this.confirm = {show: true, title, changes: data.changes,
          go: () => this.send('POST', path, {...body, dryrun: false})}
      } catch (error) {
        LNbits.utils.notifyApiError(error)
      }
    },
    dryRunApply() {
      return this.showDryRun('Apply the recommended fee changes', '/apply', {channel: 'all'})
    },
    rollback(target) {
      return this.showDryRun('Roll back ' + target, '/rollback', {target})
    },
    async confirmGo() {
      try {
        const {data} = await this.confirm.go()
        this.confirm.show = false
        Quasar.Notify.create({type: 'positive', message:
          'Changed ' + data.changes.length + ' channel(s), batch ' + data.batch_id})
        await this.loadAll()
      } catch (error) {
        LNbits.utils.notifyApiError(error)
      }
    },
    lines(text) {
      return (text || '').split('\n').map(s => s.trim()).filter(s => s)
    },
    async saveSettings() {
      const document = {...this.form,
        exclude_channel: this.lines(this.form.exclude_channel_text),
        exclude_peer: this.lines(this.form.exclude_peer_text)}
      delete document.exclude_channel_text
      delete document.exclude_peer_text
      try {
        const {data} = await this.send('PUT', '/settings', document)
        this.settingsError = ''
        this.fillForm(data)
        Quasar.Notify.create({type: 'positive', message: 'Settings saved'})
        await this.loadAll()
      } catch (error) {
        this.settingsError = (error.response && error.response.data.detail) || String(error)
      }
    },
    onTab(name) {
      if (name === 'charts') this.loadCharts()
    },
    async loadCharts() {
      try {
        const {data} = await this.get('/charts?days=30')
        this.charts = data
        this.drawCharts()
      } catch (error) {
        LNbits.utils.notifyApiError(error)
      }
    },
    drawCharts() {
      const data = this.charts
      if (!data || !this.$refs.incomeChart) return
      const totals = data.node_fee_totals.map(p => ({x: p.at * 1000, y: p.fees_total_msat / 1000}))
      const daily = data.income_per_day.map(p => ({x: p.day * 1000, y: p.fees_msat / 1000}))
      const marks = data.fee_changes.map(c => ({x: c.at * 1000, y: 0, change: c}))
      this.replaceChart('income', this.$refs.incomeChart, {
        type: 'line',
        data: {datasets: [
          {label: "node's fee total (sat)", data: totals, borderColor: '#1f6fb2', stepped: true},
          {label: 'fees per day from forwards (sat)', data: daily, type: 'bar', backgroundColor: '#90caf9'},
          {label: "lnopt's fee changes", data: marks, type: 'scatter', pointStyle: 'triangle',
            pointRadius: 7, backgroundColor: marks.map(m => (m.change.rollback ? '#e53935' : '#43a047'))}
        ]},
        options: this.timeOptions()
      })
      const palette = ['#1f6fb2', '#e53935', '#43a047', '#fb8c00', '#8e24aa', '#00897b', '#6d4c41']
      const series = Object.entries(data.local_balance).map(([scid, points], n) => ({
        label: scid,
        data: points.map(p => ({x: p.at * 1000, y: p.capacity_msat ? (100 * p.local_msat) / p.capacity_msat : 0})),
        borderColor: palette[n % palette.length],
        stepped: true
      }))
      const options = this.timeOptions()
      options.scales.y = {min: 0, max: 100, title: {display: true, text: 'local %'}}
      this.replaceChart('balance', this.$refs.balanceChart, {type: 'line', data: {datasets: series}, options})
    },
    timeOptions() {
      return {
        responsive: true, maintainAspectRatio: false, animation: false, parsing: true,
        scales: {x: {type: 'linear', ticks: {callback: v => new Date(v).toLocaleString([], {month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit'})}}},
        plugins: {legend: {labels: {boxWidth: 12}}}
      }
    },
    replaceChart(name, canvas, config) {
      this.chartObjects = this.chartObjects || {}
      if (this.chartObjects[name]) this.chartObjects[name].destroy()
      this.chartObjects[name] = new Chart(canvas.getContext('2d'), config)
    }
  },
  created() {
    this.loadAll()
  }
})
