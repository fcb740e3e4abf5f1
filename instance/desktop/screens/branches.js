// The cooperative's branches for the council: each with its trustee and trusted accounts; the
// chairman opens a branch (its account, a shareholder as trustee, and the organization record
// its documents print), changes its trustee, or closes it. Each change is a transaction of the
// cooperative, shown once the instance has stored its block.

import { Action, Field, Problem, html, useEffect, useState } from '../ui.js';
import { BRANCHES, CREATE_BRANCH, DELETE_BRANCH, EDIT_BRANCH, request, syncedTo } from '../api.js';
import { isChairman } from '../session.js';
import { PersonFields, blank, nested } from '../widgets/person.js';
import { t } from '../i18n.js';

function fieldErrors(failure) {
  return Object.fromEntries((failure?.fields || []).map((entry) => [entry.field.replace(/^organization_data\./, ''), entry.message]));
}

function NewBranch({ done, cancel }) {
  const [braname, setBraname] = useState('');
  const [trustee, setTrustee] = useState('');
  const [organization, setOrganization] = useState(() => ({ ...blank('organization'), type: 'coop', email: '' }));
  const [errors, setErrors] = useState({});
  const [error, setError] = useState(null);

  const create = async () => {
    setError(null);
    setErrors({});
    let pushed;
    try {
      ({ createBranch: pushed } = await request(CREATE_BRANCH, {
        d: { braname: braname.trim(), trustee: trustee.trim(), organization_data: nested(organization) },
      }));
    } catch (failure) {
      setErrors(fieldErrors(failure));
      throw failure;
    }
    if (pushed.block_num) await syncedTo(pushed.block_num);
    done();
  };

  return html`<form class="subform" aria-label=${t('branches.new')} onSubmit=${(event) => event.preventDefault()}>
    <h2>${t('branches.new')}</h2>
    <div class="grid">
      <${Field} label=${t('branches.braname')} name="braname" value=${braname} onInput=${setBraname}
        error=${errors.braname} hint=${t('branches.branameHint')} />
      <${Field} label=${t('branches.trustee')} name="trustee" value=${trustee} onInput=${setTrustee}
        error=${errors.trustee} hint=${t('branches.trusteeHint')} />
    </div>
    <h3>${t('branches.organization')}</h3>
    <${PersonFields} kind="organization" values=${organization} onChange=${setOrganization} errors=${errors} withEmail=${true} />
    <${Problem} error=${error} />
    <div class="actions">
      <${Action} label=${t('branches.create')} action=${create} onError=${setError} />
      <button type="button" class="secondary" onClick=${cancel}>${t('common.cancel')}</button>
    </div>
  </form>`;
}

function BranchItem({ branch, chairman, reload }) {
  const [trustee, setTrustee] = useState(branch.trustee || '');
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState(null);
  const push = (query, variables, field) => async () => {
    setError(null);
    const pushed = (await request(query, variables))[field];
    if (pushed.block_num) await syncedTo(pushed.block_num);
    setEditing(false);
    reload();
  };
  return html`<li class="item" aria-label=${branch.braname}>
    <div class="item-head">
      <div>
        <strong>${branch.braname}</strong>
        <div class="note">${t('branches.trusteeIs', { trustee: branch.trustee || '—' })}
          ${branch.trusted.length ? ` · ${t('branches.trusted', { trusted: branch.trusted.join(', ') })}` : null}</div>
      </div>
    </div>
    <${Problem} error=${error} />
    ${chairman && editing
      ? html`<form class="filters" aria-label=${t('branches.edit')} onSubmit=${(event) => event.preventDefault()}>
          <${Field} label=${t('branches.trustee')} name=${`trustee-${branch.braname}`} value=${trustee} onInput=${setTrustee} />
          <${Action} label=${t('branches.save')} onError=${setError}
            action=${push(EDIT_BRANCH, { d: { braname: branch.braname, trustee: trustee.trim() } }, 'editBranch')} />
          <button type="button" class="secondary" onClick=${() => setEditing(false)}>${t('common.cancel')}</button>
        </form>`
      : null}
    ${chairman && !editing
      ? html`<div class="actions">
          <button type="button" class="secondary" onClick=${() => setEditing(true)}>${t('branches.changeTrustee')}</button>
          <${Action} label=${t('branches.delete')} kind="danger" onError=${setError}
            action=${push(DELETE_BRANCH, { n: branch.braname }, 'deleteBranch')} />
        </div>`
      : null}
  </li>`;
}

export function Branches() {
  const chairman = isChairman();
  const [branches, setBranches] = useState(null);
  const [creating, setCreating] = useState(false);
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    request(BRANCHES, { p: { limit: 100 } })
      .then((data) => setBranches(data.getBranches.items))
      .catch(setError);
  }, [tick]);
  const reload = () => {
    setCreating(false);
    setTick((n) => n + 1);
  };

  return html`<section class="panel" aria-labelledby="branches-title">
    <h1 id="branches-title">${t('branches.title')}</h1>
    <p class="note">${t('branches.text')}</p>
    <${Problem} error=${error} />
    ${branches
      ? branches.length
        ? html`<ul class="list">${branches.map((branch) => html`<${BranchItem} key=${branch.braname}
            branch=${branch} chairman=${chairman} reload=${reload} />`)}</ul>`
        : html`<p class="empty">${t('branches.empty')}</p>`
      : html`<p class="note">${t('common.loading')}</p>`}
    ${chairman
      ? creating
        ? html`<${NewBranch} done=${reload} cancel=${() => setCreating(false)} />`
        : html`<div class="actions"><button type="button" class="primary" onClick=${() => setCreating(true)}>${t('branches.new')}</button></div>`
      : null}
  </section>`;
}
