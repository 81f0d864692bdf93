// The watches list: "select all" ticks every row's box (the list works without it).
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  if (!all) return;
  all.addEventListener("change", () => {
    for (const box of document.querySelectorAll("#watches tbody input[name=ids]")) {
      box.checked = all.checked;
    }
  });
});
