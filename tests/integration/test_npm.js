// SPDX-License-Identifier: Apache-2.0
// Client compatibility test: the real `openwhisk` npm client (pinned in
// package.json) against a running edgewhisk controller (spec section 12).
// Started by test_npm.sh, which installs the client and starts a private
// controller, with EW_APIHOST=http://127.0.0.1:PORT and EW_AUTH=uuid:key.
// Prints "ok N - desc" / "not ok N - desc" and "npm: N passed, M failed";
// exits 1 on any failure.
'use strict'

// Loopback only: the client would otherwise pick up a proxy from the env.
for (const k of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'PROXY', 'proxy']) {
  delete process.env[k]
}

const assert = require('node:assert/strict')
const openwhisk = require('openwhisk')

const apihost = process.env.EW_APIHOST
const apiKey = process.env.EW_AUTH
const STEP_TIMEOUT_MS = 70000

let n = 0
let passed = 0
let failed = 0

function ok (desc) {
  n++
  passed++
  console.log(`ok ${n} - ${desc}`)
}

function notok (desc, err) {
  n++
  failed++
  console.log(`not ok ${n} - ${desc}`)
  const text = err && err.stack ? err.stack : String(err)
  for (const line of text.split('\n').slice(0, 12)) console.log(`  # ${line}`)
  if (err && err.error !== undefined) console.log(`  # body: ${JSON.stringify(err.error).slice(0, 400)}`)
}

// step DESC FN: run FN (may be async) with a time limit; a throw is a
// failure. Returns FN's value, or undefined after a failure.
async function step (desc, fn) {
  let timer
  try {
    const v = await Promise.race([
      Promise.resolve().then(fn),
      new Promise((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS)
      })
    ])
    ok(desc)
    return v
  } catch (err) {
    notok(desc, err)
    return undefined
  } finally {
    clearTimeout(timer)
  }
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

// rejection FN: the error FN's promise rejects with (fails if it resolves).
async function rejection (fn) {
  try {
    const v = await fn()
    throw new Error(`expected a rejection, got ${JSON.stringify(v).slice(0, 300)}`)
  } catch (err) {
    if (err.message && err.message.startsWith('expected a rejection')) throw err
    return err
  }
}

const HEX32 = /^[0-9a-f]{32}$/
const CODE1 = `function main(params) {
  const name = params.name || 'world'
  console.log('npm-log ' + name)
  return { greeting: 'Hello ' + name }
}`
const CODE2 = `function main(params) {
  return { greeting: 'Hi ' + (params.name || 'world'), v: 2 }
}`
const APPERR = 'function main() { return { error: "npm-boom" } }'

async function main () {
  if (!apihost || !apiKey) {
    notok('EW_APIHOST and EW_AUTH are set (run test_npm.sh)', new Error('missing environment'))
    return
  }
  const ow = openwhisk({ apihost, api_key: apiKey, namespace: '_' })
  const name = `npm-hello-${process.pid}`
  const errName = `npm-apperr-${process.pid}`

  await step('client built from an http:// apihost targets it as is', () => {
    assert.equal(ow.actions.client.options.api, `${apihost}/api/v1/`)
  })

  await step('namespaces.list -> ["guest"]', async () => {
    assert.deepEqual(await ow.namespaces.list(), ['guest'])
  })

  await step('actions.create (nodejs:default) -> version 0.0.1, kind nodejs:20', async () => {
    const a = await ow.actions.create({ name, action: CODE1 })
    assert.equal(a.name, name)
    assert.equal(a.namespace, 'guest')
    assert.equal(a.version, '0.0.1')
    assert.equal(a.exec.kind, 'nodejs:20')
    assert.equal(a.exec.code, CODE1)
    const ann = Object.fromEntries(a.annotations.map(x => [x.key, x.value]))
    assert.equal(ann.exec, 'nodejs:20')
    assert.equal(ann['provide-api-key'], false)
  })

  await step('actions.create of an existing action rejects with 409', async () => {
    const err = await rejection(() => ow.actions.create({ name, action: CODE1 }))
    assert.equal(err.statusCode, 409)
    assert.match(err.message, /resource already exists/)
  })

  await step('actions.get -> the action with its code', async () => {
    const a = await ow.actions.get({ name })
    assert.equal(a.name, name)
    assert.equal(a.exec.code, CODE1)
  })

  await step('actions.get({code: false}) -> no exec.code', async () => {
    const a = await ow.actions.get({ name, code: false })
    assert.equal(a.exec.kind, 'nodejs:20')
    assert.equal('code' in a.exec, false)
  })

  await step('actions.list -> includes the action (summary with exec annotation)', async () => {
    const list = await ow.actions.list()
    assert.ok(Array.isArray(list))
    const a = list.find(x => x.name === name)
    assert.ok(a, 'action listed')
    assert.ok(a.annotations.some(x => x.key === 'exec' && x.value === 'nodejs:20'))
  })

  await step('actions.list({count: true}) -> {actions: n}', async () => {
    const c = await ow.actions.list({ count: true })
    assert.equal(typeof c.actions, 'number')
    assert.ok(c.actions >= 1)
  })

  const rec = await step('actions.invoke blocking -> record with response.success', async () => {
    const r = await ow.actions.invoke({ name, blocking: true, params: { name: 'npm' } })
    assert.match(r.activationId, HEX32)
    assert.equal(r.response.success, true)
    assert.equal(r.response.status, 'success')
    assert.deepEqual(r.response.result, { greeting: 'Hello npm' })
    const ann = Object.fromEntries(r.annotations.map(x => [x.key, x.value]))
    assert.equal(ann.kind, 'nodejs:20')
    assert.equal(ann.path, `guest/${name}`)
    return r
  })

  await step('actions.invoke blocking+result -> just the result', async () => {
    const r = await ow.actions.invoke({ name, blocking: true, result: true, params: { name: 'res' } })
    assert.deepEqual(r, { greeting: 'Hello res' })
  })

  const asyncId = await step('actions.invoke non-blocking -> {activationId}', async () => {
    const r = await ow.actions.invoke({ name, params: { name: 'async' } })
    assert.deepEqual(Object.keys(r), ['activationId'])
    assert.match(r.activationId, HEX32)
    return r.activationId
  })

  await step('activations.get polled until the non-blocking activation is done', async () => {
    assert.ok(asyncId, 'have an activation id')
    for (let i = 0; ; i++) {
      try {
        const a = await ow.activations.get({ activationId: asyncId })
        assert.equal(a.activationId, asyncId)
        assert.deepEqual(a.response.result, { greeting: 'Hello async' })
        return
      } catch (err) {
        if (err.statusCode !== 404 || i >= 150) throw err
        await sleep(200)
      }
    }
  })

  await step('activations.list({name}) -> includes both activations', async () => {
    const list = await ow.activations.list({ name, limit: 10 })
    assert.ok(Array.isArray(list))
    const ids = list.map(x => x.activationId)
    assert.ok(rec && ids.includes(rec.activationId), 'blocking activation listed')
    assert.ok(ids.includes(asyncId), 'non-blocking activation listed')
    assert.ok(list.every(x => x.name === name))
  })

  await step('activations.list({docs: true, limit: 1}) -> one full record', async () => {
    const list = await ow.activations.list({ docs: true, limit: 1 })
    assert.equal(list.length, 1)
    assert.equal(typeof list[0].response, 'object')
  })

  await step('activations.list({count: true}) -> {activations: n}', async () => {
    const c = await ow.activations.list({ count: true, name })
    assert.ok(c.activations >= 3)
  })

  await step('activations.logs -> {logs} with the console.log line', async () => {
    assert.ok(rec, 'have the blocking record')
    let logs
    for (let i = 0; i < 25; i++) {
      logs = await ow.activations.logs({ activationId: rec.activationId })
      if (logs.logs.some(l => l.includes('npm-log npm'))) break
      await sleep(200)
    }
    assert.ok(Array.isArray(logs.logs))
    assert.ok(logs.logs.some(l => / stdout: npm-log npm$/.test(l)), JSON.stringify(logs.logs))
  })

  await step('activations.result -> {status, success, result}', async () => {
    assert.ok(rec, 'have the blocking record')
    const r = await ow.activations.result({ activationId: rec.activationId })
    assert.equal(r.success, true)
    assert.equal(r.status, 'success')
    assert.deepEqual(r.result, { greeting: 'Hello npm' })
  })

  await step('actions.update -> version 0.0.2, new code runs', async () => {
    const a = await ow.actions.update({ name, action: CODE2 })
    assert.equal(a.version, '0.0.2')
    assert.equal(a.exec.code, CODE2)
    const r = await ow.actions.invoke({ name, blocking: true, result: true, params: { name: 'v2' } })
    assert.deepEqual(r, { greeting: 'Hi v2', v: 2 })
  })

  await step('actions.update with params only keeps the code (0.0.3)', async () => {
    const a = await ow.actions.update({ name, params: { name: 'bound' } })
    assert.equal(a.version, '0.0.3')
    assert.equal(a.exec.code, CODE2)
    assert.deepEqual(a.parameters, [{ key: 'name', value: 'bound' }])
    const r = await ow.actions.invoke({ name, blocking: true, result: true })
    assert.deepEqual(r, { greeting: 'Hi bound', v: 2 })
  })

  await step('application error: blocking invoke rejects with 502 and the error', async () => {
    await ow.actions.create({ name: errName, action: APPERR, limits: { memory: 128 } })
    const err = await rejection(() => ow.actions.invoke({ name: errName, blocking: true }))
    assert.equal(err.statusCode, 502)
    assert.match(err.message, /npm-boom/)
    assert.equal(err.error.response.status, 'application error')
    await ow.actions.delete({ name: errName })
  })

  await step('actions.delete -> the deleted action', async () => {
    const a = await ow.actions.delete({ name })
    assert.equal(a.name, name)
    assert.equal(a.version, '0.0.3')
  })

  await step('actions.get after delete rejects with 404', async () => {
    const err = await rejection(() => ow.actions.get({ name }))
    assert.equal(err.statusCode, 404)
  })

  await step('invoking a missing action rejects with 404', async () => {
    const err = await rejection(() => ow.actions.invoke({ name: `npm-missing-${process.pid}`, blocking: true }))
    assert.equal(err.statusCode, 404)
    assert.match(err.message, /The requested resource does not exist\./)
    assert.equal(typeof err.error.code, 'string')
  })

  await step('a wrong api_key rejects with 401', async () => {
    const bad = openwhisk({ apihost, api_key: apiKey.slice(0, -1) + (apiKey.endsWith('x') ? 'y' : 'x'), namespace: '_' })
    const err = await rejection(() => bad.actions.list())
    assert.equal(err.statusCode, 401)
    assert.match(err.message, /The supplied authentication is invalid/)
  })
  await events(ow)
  await catalog(ow)
  await routes(ow)
  await feeds(ow)
}

// pollActivation ID: the stored record, polling while it is not there yet.
async function pollActivation (ow, activationId) {
  for (let i = 0; ; i++) {
    try {
      return await ow.activations.get({ activationId })
    } catch (err) {
      if (err.statusCode !== 404 || i >= 150) throw err
      await sleep(200)
    }
  }
}

// Triggers, rules, sequences, packages and web actions through the client.
async function events (ow) {
  const p = `npmev${process.pid}`
  const echo = 'function main(p) { return p; }'

  await step('actions.create echo + triggers.create + rules.create', async () => {
    await ow.actions.create({ name: `${p}-echo`, action: echo, kind: 'nodejs:default' })
    await ow.triggers.create({ name: `${p}-t`, trigger: { parameters: [{ key: 'src', value: 'trigger' }] } })
    const r = await ow.rules.create({ name: `${p}-r`, trigger: `${p}-t`, action: `${p}-echo` })
    assert.equal(r.status, 'active')
    assert.deepEqual(r.trigger, { path: 'guest', name: `${p}-t` })
  })

  let fired
  await step('triggers.invoke fires the rule; its action gets trigger params + payload', async () => {
    const r = await ow.triggers.invoke({ name: `${p}-t`, params: { n: 7 } })
    assert.match(r.activationId, HEX32)
    const t = await pollActivation(ow, r.activationId)
    assert.equal(t.logs.length, 1)
    fired = JSON.parse(t.logs[0]).activationId
    const a = await pollActivation(ow, fired)
    assert.deepEqual(a.response.result, { src: 'trigger', n: 7 })
  })

  await step('rules.disable then triggers.invoke fires nothing', async () => {
    await ow.rules.disable({ name: `${p}-r` })
    const g = await ow.rules.get({ name: `${p}-r` })
    assert.equal(g.status, 'inactive')
    const r = await ow.triggers.invoke({ name: `${p}-t`, params: { n: 8 } })
    const t = await pollActivation(ow, r.activationId)
    assert.deepEqual(t.logs, [])
    await ow.rules.enable({ name: `${p}-r` })
    assert.equal((await ow.rules.get({ name: `${p}-r` })).status, 'active')
  })

  await step('triggers.list / rules.list include them', async () => {
    assert.ok((await ow.triggers.list()).some(t => t.name === `${p}-t`))
    assert.ok((await ow.rules.list()).some(r => r.name === `${p}-r`))
  })

  await step('rules.create to a missing action rejects with 400', async () => {
    const err = await rejection(() => ow.rules.create({ name: `${p}-bad`, trigger: `${p}-t`, action: `${p}-nope` }))
    assert.equal(err.statusCode, 400)
    assert.match(err.message, /does not exist/)
  })

  await step('a 3-step sequence created with the client runs, error in the middle stops it', async () => {
    await ow.actions.create({ name: `${p}-inc`, action: 'function main(p) { return { x: (p.x || 0) + 1 } }', kind: 'nodejs:default' })
    await ow.actions.create({ name: `${p}-fail`, action: 'function main(p) { return p.x === 2 ? { error: "stop" } : p }', kind: 'nodejs:default' })
    await ow.actions.create({
      name: `${p}-seq`,
      action: { exec: { kind: 'sequence', components: [`/_/${p}-inc`, `/_/${p}-fail`, `/_/${p}-inc`] } }
    })
    const good = await ow.actions.invoke({ name: `${p}-seq`, params: { x: 5 }, blocking: true, result: true })
    assert.deepEqual(good, { x: 7 })
    const err = await rejection(() => ow.actions.invoke({ name: `${p}-seq`, params: { x: 1 }, blocking: true }))
    assert.equal(err.statusCode, 502)
    assert.equal(err.error.response.result.error, 'stop')
    assert.equal(err.error.logs.length, 2)
  })

  await step('packages.create + action in it inherits package parameters', async () => {
    await ow.packages.create({ name: `${p}-pkg`, package: { parameters: [{ key: 'who', value: 'package' }] } })
    await ow.actions.create({ name: `${p}-pkg/show`, action: echo, kind: 'nodejs:default' })
    const r = await ow.actions.invoke({ name: `${p}-pkg/show`, params: { y: 1 }, blocking: true, result: true })
    assert.deepEqual(r, { who: 'package', y: 1 })
    const pkg = await ow.packages.get({ name: `${p}-pkg` })
    assert.deepEqual(pkg.actions.map(a => a.name), ['show'])
  })

  await step('a web action answers over plain HTTP without credentials', async () => {
    await ow.actions.create({
      name: `${p}-web`,
      action: 'function main(p) { return { statusCode: 200, headers: { "content-type": "text/html" }, body: "<b>" + p.who + "</b>" } }',
      kind: 'nodejs:default',
      annotations: { 'web-export': true }
    })
    const res = await fetch(`${apihost}/api/v1/web/guest/default/${p}-web.http?who=npm`)
    assert.equal(res.status, 200)
    assert.equal(await res.text(), '<b>npm</b>')
  })

  await step('cleanup: rules, triggers, actions, packages deleted', async () => {
    await ow.rules.delete({ name: `${p}-r` })
    await ow.triggers.delete({ name: `${p}-t` })
    for (const a of ['echo', 'inc', 'fail', 'seq', 'web', 'pkg/show']) await ow.actions.delete({ name: `${p}-${a}` })
    await ow.packages.delete({ name: `${p}-pkg` })
    const err = await rejection(() => ow.triggers.get({ name: `${p}-t` }))
    assert.equal(err.statusCode, 404)
  })
}

// The system catalog and shared packages through the client: what the
// client's own integration suite does with /whisk.system/utils, and each
// utils action's result as OpenWhisk's catalog documents it.
async function catalog (ow) {
  const p = `npmcat${process.pid}`
  const run = (name, params) => ow.actions.invoke({ name: `/whisk.system/utils/${name}`, params, blocking: true, result: true })

  await step('packages.list({namespace: "whisk.system"}) -> utils, published', async () => {
    const list = await ow.packages.list({ namespace: 'whisk.system' })
    const utils = list.find(x => x.name === 'utils')
    assert.ok(utils, JSON.stringify(list))
    assert.equal(utils.namespace, 'whisk.system')
    assert.equal(utils.publish, true)
  })

  await step('packages.get(/whisk.system/utils) -> its nine actions', async () => {
    const pkg = await ow.packages.get({ name: '/whisk.system/utils' })
    assert.deepEqual(pkg.actions.map(a => a.name).sort(),
      ['cat', 'date', 'echo', 'head', 'hosturl', 'namespace', 'smash', 'sort', 'split'])
  })

  await step('actions.invoke(/whisk.system/utils/sort) blocking -> success, recorded as guest', async () => {
    const r = await ow.actions.invoke({ name: '/whisk.system/utils/sort', blocking: true, params: { lines: ['b', 'c', 'a'] } })
    assert.equal(r.response.success, true)
    assert.deepEqual(r.response.result, { lines: ['a', 'b', 'c'], length: 3 })
    assert.equal(r.namespace, 'guest')
    assert.equal(r.subject, 'guest')
  })

  await step('utils: echo, cat, head, split, smash, namespace, date, hosturl as the catalog documents them', async () => {
    assert.deepEqual(await run('echo', { payload: 'Five fuzzy felines' }), { payload: 'Five fuzzy felines' })
    assert.deepEqual(await run('cat', { lines: [4, 2, 3] }), { lines: [4, 2, 3], payload: '4\n2\n3' })
    assert.deepEqual(await run('sort', { lines: [10, 9, 1] }), { lines: [1, 10, 9], length: 3 })
    assert.deepEqual(await run('head', { lines: [4, 2, 3], num: 2 }), { lines: [4, 2], num: 2 })
    assert.deepEqual(await run('head', { lines: [4, 2, 3] }), { lines: [4], num: 1 })
    assert.deepEqual(await run('split', { payload: 'one,two,three', separator: ',' }),
      { lines: ['one', 'two', 'three'], payload: 'one,two,three' })
    assert.deepEqual(await run('split', { payload: 'a\r\nb\nc' }), { lines: ['a', 'b', 'c'], payload: 'a\r\nb\nc' })
    assert.deepEqual(await run('smash', { a: 1, b: { c: 2 }, $fieldName: 'p' }), { p: { a: 1, b: { c: 2 } } })
    assert.deepEqual(await run('namespace', {}), { namespace: 'guest' })
    const d = await run('date', {})
    assert.ok(Math.abs(Date.parse(d.date) - Date.now()) < 60000, JSON.stringify(d))
    const u = await run('hosturl', { web: true, path: 'utils/echo', ext: '.json' })
    assert.match(u.url, /\/api\/v1\/web\/guest\/utils\/echo\.json$/)
    const t = await run('hosturl', { trigger: true, path: 't1' })
    assert.match(t.url, /\/api\/v1\/namespaces\/guest\/triggers\/t1$/)
    const err = await rejection(() => run('smash', { a: 1 }))
    assert.equal(err.statusCode, 502)
  })

  await step('a sequence of /whisk.system/utils/echo and a rule to it run for guest', async () => {
    const s = await ow.actions.create({ name: `${p}-seq`, sequence: ['/whisk.system/utils/echo'] })
    assert.deepEqual(s.exec.components, ['/whisk.system/utils/echo'])
    const r = await ow.actions.invoke({ name: `${p}-seq`, params: { x: 1 }, blocking: true, result: true })
    assert.deepEqual(r, { x: 1 })
    await ow.triggers.create({ name: `${p}-t` })
    await ow.rules.create({ name: `${p}-r`, trigger: `/_/${p}-t`, action: '/whisk.system/utils/echo' })
    const fired = await ow.triggers.invoke({ name: `${p}-t`, params: { y: 2 } })
    assert.match(fired.activationId, HEX32)
    const rec = await pollActivation(ow, fired.activationId)
    const logs = rec.logs.map(l => JSON.parse(l))
    assert.equal(logs[0].success, true, JSON.stringify(logs))
    const act = await pollActivation(ow, logs[0].activationId)
    assert.deepEqual(act.response.result, { y: 2 })
    assert.equal(act.namespace, 'guest')
  })

  await step('packages.list({namespace: "_"}) with public -> ours and whisk.system/utils', async () => {
    await ow.packages.create({ name: `${p}-mine` })
    const res = await fetch(`${apihost}/api/v1/namespaces/_/packages?public=true`, {
      headers: { authorization: 'Basic ' + Buffer.from(apiKey).toString('base64') }
    })
    const list = await res.json()
    const names = list.map(x => `${x.namespace}/${x.name}`)
    assert.ok(names.includes(`guest/${p}-mine`) && names.includes('whisk.system/utils'), JSON.stringify(names))
  })

  await step('writes to whisk.system reject with 403', async () => {
    const err = await rejection(() => ow.actions.update({ name: '/whisk.system/utils/echo', action: 'function main(){}' }))
    assert.equal(err.statusCode, 403)
    const err2 = await rejection(() => ow.packages.delete({ name: '/whisk.system/utils' }))
    assert.equal(err2.statusCode, 403)
  })

  await step('cleanup: catalog test entities deleted', async () => {
    await ow.rules.delete({ name: `${p}-r` })
    await ow.triggers.delete({ name: `${p}-t` })
    await ow.actions.delete({ name: `${p}-seq` })
    await ow.packages.delete({ name: `${p}-mine` })
  })
}

// HTTP routes through the client's routes API (route management as
// web actions of whisk.system/apimgmt), then plain HTTP to the route.
async function routes (ow) {
  const p = `npmrt${process.pid}`
  const base = `/${p}`

  await step('routes.create of a web action -> the API with its swagger', async () => {
    await ow.actions.create({
      name: `${p}-hello`,
      action: 'function main(a) { return { hello: a.who, path: a.__ow_path } }',
      kind: 'nodejs:default',
      annotations: { 'web-export': true }
    })
    const r = await ow.routes.create({ action: `${p}-hello`, basepath: base, relpath: '/hi/{who}', operation: 'GET' })
    assert.equal(r.value.gwApiUrl, `${apihost}/api/guest`)
    assert.equal(r.value.apidoc.basePath, base)
    assert.equal(r.value.apidoc.paths['/hi/{who}'].get['x-openwhisk'].action, `${p}-hello`)
  })

  await step('the route answers plain HTTP without credentials', async () => {
    const res = await fetch(`${apihost}/api/guest${base}/hi/edge`)
    assert.equal(res.status, 200)
    assert.deepEqual(await res.json(), { hello: 'edge', path: '/hi/edge' })
  })

  await step('routes.list({basepath}) -> one API holding the path', async () => {
    const l = await ow.routes.list({ basepath: base })
    assert.equal(l.apis.length, 1)
    assert.ok(l.apis[0].value.apidoc.paths['/hi/{who}'].get)
  })

  await step('routes.create of a plain action rejects with 400', async () => {
    await ow.actions.create({ name: `${p}-plain`, action: 'function main() { return {} }', kind: 'nodejs:default' })
    const err = await rejection(() => ow.routes.create({ action: `${p}-plain`, basepath: base, relpath: '/x', operation: 'GET' }))
    assert.equal(err.statusCode, 400)
    assert.match(err.message, /is not a web action/)
  })

  await step('routes.delete({basepath}) -> the route is gone (404)', async () => {
    await ow.routes.delete({ basepath: base })
    const res = await fetch(`${apihost}/api/guest${base}/hi/edge`)
    assert.equal(res.status, 404)
    const l = await ow.routes.list({ basepath: base })
    assert.equal(l.apis.length, 0)
    await ow.actions.delete({ name: `${p}-hello` })
    await ow.actions.delete({ name: `${p}-plain` })
  })
}

// The feed protocol through the client's feeds API, on the built-in alarms
// feed (a seconds cron) and mqtt/subscribe's refusals.
async function feeds (ow) {
  const p = `npmfd${process.pid}`
  const feedName = '/whisk.system/alarms/alarm'
  const fires = async () => (await ow.activations.list({ name: `${p}-tick`, limit: 200 })).length

  await step('feeds.create(alarms/alarm, seconds cron) -> success', async () => {
    await ow.triggers.create({ name: `${p}-tick`, trigger: { annotations: [{ key: 'feed', value: feedName }] } })
    const a = await ow.feeds.create({ feedName, trigger: `${p}-tick`, params: { cron: '* * * * * *', trigger_payload: { from: 'npm' } } })
    assert.deepEqual(a.response.result, { status: 'success' })
  })

  await step('the trigger fires every second with trigger_payload', async () => {
    for (let i = 0; i < 50 && await fires() < 2; i++) await sleep(100)
    assert.ok(await fires() >= 2)
    const [rec] = await ow.activations.list({ name: `${p}-tick`, limit: 1, docs: true })
    assert.equal(rec.response.result.from, 'npm')
  })

  await step('feeds.get -> config and status active', async () => {
    const a = await ow.feeds.get({ feedName, trigger: `${p}-tick` })
    assert.equal(a.response.result.config.cron, '* * * * * *')
    assert.equal(a.response.result.status.active, true)
    assert.ok(a.response.result.status.dateChangedISO)
  })

  await step('feeds.update(cron) -> success, feeds.get shows it', async () => {
    const a = await ow.feeds.update({ feedName, trigger: `${p}-tick`, params: { cron: '0 0 1 1 *' } })
    assert.deepEqual(a.response.result, { status: 'success' })
    const g = await ow.feeds.get({ feedName, trigger: `${p}-tick` })
    assert.equal(g.response.result.config.cron, '0 0 1 1 *')
  })

  await step('feeds.delete -> success; no more fires; get rejects', async () => {
    const a = await ow.feeds.delete({ feedName, trigger: `${p}-tick` })
    assert.deepEqual(a.response.result, { status: 'success' })
    const n = await fires()
    await sleep(1500)
    assert.equal(await fires(), n)
    const err = await rejection(() => ow.feeds.get({ feedName, trigger: `${p}-tick` }))
    assert.equal(err.statusCode, 502)
    assert.match(err.message, /No feed is registered/)
  })

  await step('feeds.create with a bad cron rejects naming it', async () => {
    const err = await rejection(() => ow.feeds.create({ feedName, trigger: `${p}-tick`, params: { cron: '61 * * * *' } }))
    assert.equal(err.statusCode, 502)
    assert.match(err.message, /cron pattern/)
  })

  await step('feeds.create(mqtt/subscribe) to a closed port rejects with the broker error', async () => {
    await ow.triggers.create({ name: `${p}-mq`, trigger: { annotations: [{ key: 'feed', value: '/whisk.system/mqtt/subscribe' }] } })
    const err = await rejection(() => ow.feeds.create({ feedName: '/whisk.system/mqtt/subscribe', trigger: `${p}-mq`, params: { url: 'mqtt://127.0.0.1:1', topic: 'a/#' } }))
    assert.equal(err.statusCode, 502)
    assert.match(err.message, /cannot connect to tcp:\/\/127\.0\.0\.1:1/)
  })

  await step('cleanup: feed triggers deleted', async () => {
    await ow.triggers.delete({ name: `${p}-tick` })
    await ow.triggers.delete({ name: `${p}-mq` })
  })
}

main()
  .catch(err => notok('test script runs to the end', err))
  .finally(() => {
    console.log(`npm: ${passed} passed, ${failed} failed`)
    process.exitCode = failed === 0 && passed > 0 ? 0 : 1
  })
