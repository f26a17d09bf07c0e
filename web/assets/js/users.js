// The users area (admins): add a user (the first password is shown once), change a user's
// role and groups, disable or enable an account.
import { api, apiJson } from "./api.js";
import { $, button, el, row, splitGroups } from "./dom.js";
import { t } from "./i18n.js";

const ROLE_LABELS = { employee: "roleEmployee", editor: "roleEditor", admin: "roleAdmin" };

export async function loadUsers() {
  const { users } = await apiJson("/api/users");
  $("users-table").tBodies[0].replaceChildren(...users.map((user) => {
    const role = el("select");
    for (const [value, label] of Object.entries(ROLE_LABELS)) {
      const option = el("option", t(label));
      option.value = value;
      option.selected = value === user.role;
      role.append(option);
    }
    const groups = el("input");
    groups.value = user.groups.join(", ");
    const save = (disabled) => api(`/api/users/${user.id}`, { role: role.value, groups: splitGroups(groups.value), disabled }, "PUT")
      .then(loadUsers).catch((error) => ($("user-message").textContent = t("failed") + error.message));
    const actions = el("span");
    actions.append(button(t("edit"), () => save(user.disabled)), button(user.disabled ? t("enable") : t("disable"), () => save(!user.disabled), "small danger"));
    return row([user.username, role, groups, user.disabled ? t("yes") : t("no"), actions]);
  }));
}

/** Wires the add-user form; called once at start. */
export function initUsers() {
  $("user-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const body = { username: $("new-username").value.trim(), role: $("new-role").value, groups: splitGroups($("new-groups").value) };
      const created = await apiJson("/api/users", body);
      $("user-message").textContent = t("userCreated").replace("{u}", created.user.username).replace("{p}", created.password);
      $("user-form").reset();
      loadUsers();
    } catch (error) {
      $("user-message").textContent = t("failed") + error.message;
    }
  });
}
