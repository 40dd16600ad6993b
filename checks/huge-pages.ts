import { defineCheck } from '../src/define-check.js';
import { describeLocalReach, isOnThisHost } from '../src/host-memory.js';
import { shellQuote } from '../src/quote.js';
import type { CheckContext, Finding, Remediation } from '../src/types.js';
import { humanSize, settingBytes } from '../src/units.js';

const GB = 1024 ** 3;
/** Linux's default huge page size on x86-64 and most arm64 kernels. */
const DEFAULT_HUGE_PAGE = 2 * 1024 ** 2;

interface HugePageState {
  sharedBuffers: number;
  mode: string;
  /** huge_pages_status (PostgreSQL 17+): whether this server got huge pages. */
  status?: string;
  /** shared_memory_size_in_huge_pages (PostgreSQL 15+), the exact count the server needs. */
  needed?: number;
  pageBytes: number;
  pageSizeSource: string;
  dataDirectory?: string;
}

function readState(ctx: CheckContext): HugePageState {
  const settings = ctx.facts.settings;
  const needed = Number(settings.get('shared_memory_size_in_huge_pages')?.setting ?? -1);
  // huge_page_size (14+) of 0 means the kernel's default, which only /proc/meminfo knows.
  const configured = settingBytes(settings.get('huge_page_size'));
  const local = isOnThisHost(ctx.target.connection) ? ctx.inputs.localHostMemory : undefined;
  const pageBytes = configured || local?.hugePageBytes || DEFAULT_HUGE_PAGE;
  const pageSizeSource = configured ? 'huge_page_size' : local?.hugePageBytes ? `Hugepagesize in ${local.source}` : 'the usual Linux default';
  return {
    sharedBuffers: settingBytes(settings.get('shared_buffers')) ?? 0,
    mode: settings.get('huge_pages')?.setting ?? 'unknown',
    status: settings.get('huge_pages_status')?.setting,
    needed: needed > 0 ? needed : undefined,
    pageBytes,
    pageSizeSource,
    dataDirectory: settings.get('data_directory')?.setting || undefined,
  };
}

/** The docs' method before PostgreSQL 15: the postmaster's peak address space in huge pages. */
function vmPeakCommand(state: HugePageState): string {
  const pidFile = state.dataDirectory ? shellQuote(`${state.dataDirectory}/postmaster.pid`) : '"$PGDATA/postmaster.pid"';
  const pageKb = state.pageBytes / 1024;
  return `echo $(( ($(awk '/^VmPeak:/ {print $2}' /proc/$(head -1 ${pidFile})/status) + ${pageKb - 1}) / ${pageKb} ))`;
}

function reserveSteps(state: HugePageState, ctx: CheckContext): Remediation[] {
  const steps: Remediation[] = [];
  const size = humanSize(state.pageBytes);
  if (state.needed !== undefined) {
    steps.push({
      kind: 'shell',
      title: `as root on the database host: reserve the ${state.needed} huge pages of ${size} the server needs (shared_memory_size_in_huge_pages), now and at every boot; add what other programs on the host already use`,
      text: `echo 'vm.nr_hugepages = ${state.needed}' | sudo tee /etc/sysctl.d/60-postgresql-huge-pages.conf\nsudo sysctl -p /etc/sysctl.d/60-postgresql-huge-pages.conf`,
    });
  } else {
    steps.push({
      kind: 'shell',
      title: `on the database host, with the server running: how many huge pages of ${size} it needs (PostgreSQL ${ctx.facts.major} cannot report it; from 15 SHOW shared_memory_size_in_huge_pages does). The PostgreSQL docs' method: the postmaster's VmPeak divided by the huge page size`,
      text: vmPeakCommand(state),
    });
    steps.push({
      kind: 'text',
      text: `Then, as root, put "vm.nr_hugepages = <that number>" (plus what other programs use) into /etc/sysctl.d/60-postgresql-huge-pages.conf and run "sysctl -p /etc/sysctl.d/60-postgresql-huge-pages.conf".`,
    });
  }
  if (state.pageSizeSource === 'huge_page_size' && state.pageBytes !== DEFAULT_HUGE_PAGE) {
    steps.push({
      kind: 'text',
      text: `huge_page_size is ${size}, not the kernel's usual default: vm.nr_hugepages reserves pages of the default size only; reserve ${size} pages with /sys/kernel/mm/hugepages/hugepages-${state.pageBytes / 1024}kB/nr_hugepages (or hugepages= on the kernel command line) instead.`,
    });
  }
  if (state.mode === 'off') {
    steps.push({
      kind: 'sql',
      title: 'as a superuser; needs a restart (huge_pages is read at server start)',
      text: "ALTER SYSTEM SET huge_pages = 'try';",
    });
  }
  steps.push({
    kind: 'text',
    text:
      'Restart PostgreSQL (e.g. "systemctl restart postgresql") so that it maps shared memory in huge pages. ' +
      (ctx.facts.major >= 17
        ? 'SHOW huge_pages_status then says on. '
        : 'PostgreSQL 16 and older do not report whether they got them; the memory in use shows in HugePages_Free dropping in /proc/meminfo. ') +
      "huge_pages = 'on' instead of 'try' makes a shortfall stop the server at start rather than run without them unnoticed; use it once the reservation survives reboots. " +
      'The count follows shared_buffers: after changing it, reserve again' +
      (ctx.facts.major >= 15 ? ' (with the server stopped, "postgres -D <data directory> -C shared_memory_size_in_huge_pages" prints the new count).' : '.'),
  });
  return steps;
}

export default defineCheck({
  id: 'huge-pages',
  title: 'Huge pages for a large shared_buffers',
  description: 'With a large shared_buffers, whether the server uses huge pages, and the exact vm.nr_hugepages it needs (PostgreSQL 15+).',
  docs: `Every PostgreSQL process maps all of shared memory. In ordinary 4kB pages that costs page
tables per connection (gigabytes with a large shared_buffers and many connections) and TLB
misses; huge pages (2MB on most Linux kernels) avoid both. The Synapse guide recommends them
for large shared_buffers. The default, huge_pages = try, falls back silently when the kernel
has none reserved, which is the usual case: Linux reserves none unless vm.nr_hugepages says so.
From shared_buffers of 2GB (min_shared_buffers; pgtune's threshold for huge_pages = try):
  - huge_pages = off, or try without huge pages (huge_pages_status = off, PostgreSQL 17+):
    info, with the vm.nr_hugepages line to reserve them. From PostgreSQL 15 the count is exact
    (shared_memory_size_in_huge_pages); before, the docs' method (the postmaster's VmPeak
    divided by the page size) is printed as a command to run on the database host.
  - when the server is on this machine (Unix socket or loopback) and /proc/meminfo shows huge
    pages reserved but fewer free than the server needs: warning. huge_pages = on would then
    stop the server from starting, and with try the reserved memory sits unused by anyone.
  - huge_pages = on, or try with huge_pages_status = on: ok.
Fix: reserve the pages (as root: a file in /etc/sysctl.d and sysctl -p), then restart
PostgreSQL. Once the reservation survives reboots, huge_pages = on makes a shortfall visible at
start instead of silent.`,
  params: {
    min_shared_buffers: {
      type: 'bytes',
      default: 2 * GB,
      description: 'shared_buffers from which huge pages are worth setting up',
    },
  },
  inputs: ['localHostMemory'],
  codes: {
    'small-shared-buffers': { status: 'ok', summary: 'shared_buffers is under the size from which huge pages are worth setting up.' },
    'no-huge-pages-platform': { status: 'skipped', summary: 'The server\'s platform offers PostgreSQL no huge pages.' },
    'huge-pages-on': { status: 'ok', summary: 'huge_pages = on: the server runs on huge pages.' },
    'huge-pages-in-use': { status: 'ok', summary: 'huge_pages = try and the server got them.' },
    'reserved-too-few-free': { status: 'warning', summary: 'This machine reserves huge pages, but fewer are free than the server needs.', remediation: ['shell', 'text', 'sql'] },
    'huge-pages-probably-in-use': { status: 'ok', summary: 'huge_pages = try and enough of this machine\'s huge pages are in use, most likely by this server.' },
    'huge-pages-not-used': { status: 'info', summary: 'The server runs (or may run) without huge pages; the steps reserve them.', remediation: ['shell', 'text', 'sql'] },
  },
  async run(ctx) {
    const state = readState(ctx);
    const min = Number(ctx.params.min_shared_buffers);
    const sb = humanSize(state.sharedBuffers);
    const details: Record<string, unknown> = {
      sharedBuffers: sb,
      hugePages: state.mode,
      ...(state.status ? { hugePagesStatus: state.status } : {}),
      ...(state.needed !== undefined ? { neededHugePages: state.needed } : {}),
      hugePageSize: humanSize(state.pageBytes),
    };
    if (state.sharedBuffers < min) {
      return { code: 'small-shared-buffers', status: 'ok', message: `shared_buffers is ${sb}, under the ${humanSize(min)} from which huge pages are worth setting up`, details };
    }
    if (ctx.facts.major >= 15 && state.needed === undefined) {
      // -1: the server's platform has no huge pages it could use (not Linux, or no MAP_HUGETLB).
      return { code: 'no-huge-pages-platform', status: 'skipped', message: `the server reports no huge page count (shared_memory_size_in_huge_pages = -1): its platform offers PostgreSQL no huge pages`, details };
    }
    if (state.mode === 'on') {
      return { code: 'huge-pages-on', status: 'ok', message: `huge_pages = on: the server runs on huge pages (it does not start without them)`, details };
    }
    if (state.mode === 'try' && state.status === 'on') {
      return { code: 'huge-pages-in-use', status: 'ok', message: `huge_pages = try and the server got them (huge_pages_status = on)`, details };
    }

    const local = isOnThisHost(ctx.target.connection) ? ctx.inputs.localHostMemory : undefined;
    const findings: Finding[] = [];
    const neededText = state.needed !== undefined ? `${state.needed}` : `about ${Math.ceil(state.sharedBuffers / state.pageBytes)} (shared_buffers alone)`;
    const neededCount = state.needed ?? Math.ceil(state.sharedBuffers / state.pageBytes);
    if (local?.hugePagesTotal !== undefined && local.hugePagesFree !== undefined) {
      details.thisHost = { source: local.source, hugePagesTotal: local.hugePagesTotal, hugePagesFree: local.hugePagesFree };
      const inUseBeforeStatus = state.status === undefined && state.mode === 'try' && local.hugePagesTotal - local.hugePagesFree >= neededCount;
      if (local.hugePagesTotal > 0 && local.hugePagesFree < neededCount && !inUseBeforeStatus) {
        findings.push({
          code: 'reserved-too-few-free', status: 'warning',
          message: `this machine (the server is reached over ${describeLocalReach(ctx.target.connection)}) reserves ${local.hugePagesTotal} huge pages (vm.nr_hugepages) but only ${local.hugePagesFree} are free, and the server needs ${neededText}: huge_pages = on would stop it from starting, and with ${state.mode} it runs without them while the reserved memory sits unused`,
          details,
          remediation: reserveSteps(state, ctx),
        });
        return findings;
      }
      if (inUseBeforeStatus) {
        return {
          code: 'huge-pages-probably-in-use', status: 'ok',
          message: `huge_pages = try, and ${local.hugePagesTotal - local.hugePagesFree} of this machine's ${local.hugePagesTotal} huge pages are in use: most likely by this server (PostgreSQL ${ctx.facts.major} does not report it; 17+ shows huge_pages_status)`,
          details,
        };
      }
    }
    const why = 'every connection then maps shared memory in 4kB pages, which costs page-table memory per connection and TLB misses';
    let message: string;
    if (state.mode === 'off') message = `huge_pages = off with shared_buffers ${sb}: ${why}`;
    else if (state.status === 'off') message = `huge_pages = try, but the server runs without them (huge_pages_status = off) with shared_buffers ${sb}: ${why}; the kernel had too few reserved at start`;
    else message = `huge_pages = ${state.mode} with shared_buffers ${sb}: PostgreSQL ${ctx.facts.major} does not report whether it got them (17+ shows huge_pages_status), and Linux reserves none unless vm.nr_hugepages is set${local?.hugePagesTotal === 0 ? ' (this machine reserves none: HugePages_Total is 0)' : ''}`;
    findings.push({ code: 'huge-pages-not-used', status: 'info', message: `${message}. It needs ${neededText} huge pages of ${humanSize(state.pageBytes)}.`, details, remediation: reserveSteps(state, ctx) });
    return findings;
  },
});
