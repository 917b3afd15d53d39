// Live status on the landing page: re-reads /api/services and updates each card in place.
"use strict";

(function () {
  const container = document.getElementById("services");
  if (!container) return;
  const seconds = Number(container.dataset.refreshSeconds) || 10;
  const checked = document.getElementById("checked");

  function setHidden(card, field, hidden) {
    const element = card.querySelector(`[data-field="${field}"]`);
    if (element) element.hidden = hidden;
    return element;
  }

  function update(card, service) {
    card.classList.remove("status-running", "status-unhealthy", "status-not_installed");
    card.classList.add(`status-${service.status}`);
    card.querySelector('[data-field="status"]').textContent = service.status.replace("_", " ");
    card.querySelector('[data-field="version"]').textContent =
      service.version ? `version ${service.version}` : "";
    const open = setHidden(card, "open", !service.url);
    if (open && service.url) open.setAttribute("href", service.url);
    setHidden(card, "get", service.status !== "not_installed");
    const detail = setHidden(card, "detail", service.status !== "unhealthy");
    if (detail) detail.textContent = service.detail || "";
  }

  async function refresh() {
    try {
      const response = await fetch("/api/services", {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.status === 401) {
        window.location.assign("/login?next=%2F");
        return;
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = await response.json();
      for (const service of body.services) {
        const card = container.querySelector(`[data-service="${CSS.escape(service.name)}"]`);
        if (card) update(card, service);
      }
      if (checked) checked.textContent = `Checked ${new Date().toLocaleTimeString()}.`;
      container.dataset.lastRefresh = body.checked_at;
    } catch (error) {
      if (checked) checked.textContent = `Status refresh failed (${error.message}); retrying.`;
    }
  }

  refresh();
  window.setInterval(refresh, seconds * 1000);
})();
