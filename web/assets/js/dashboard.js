// The dashboard (admins): question count, answer latency, questions per day as an SVG bar
// chart built here (no chart library), unanswered questions and the most-cited documents.
import { apiJson } from "./api.js";
import { $, el, localTime } from "./dom.js";

// A name for the SVG vocabulary, never fetched.
const SVG_NS = "http://www.w3.org/2000/svg";

function svgElement(name, attributes) {
  const element = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes || {})) element.setAttribute(key, value);
  return element;
}

function chart(days) {
  const width = 640, height = 140, max = Math.max(1, ...days.map((day) => day.questions));
  const svg = svgElement("svg", { viewBox: `0 -12 ${width} ${height + 32}`, role: "img" });
  const barWidth = days.length ? width / days.length : width;
  days.forEach((day, index) => {
    const barHeight = (day.questions / max) * height;
    const middle = index * barWidth + barWidth / 2;
    const bar = svgElement("rect", { x: index * barWidth + 2, y: height - barHeight, width: Math.max(1, barWidth - 4) });
    if (day.questions > 0) {
      const count = svgElement("text", { x: middle, y: height - barHeight - 3, "text-anchor": "middle" });
      count.textContent = day.questions;
      svg.append(count);
    }
    bar.setAttribute("height", barHeight);
    bar.setAttribute("class", "bar");
    const title = svgElement("title");
    title.textContent = `${day.day}: ${day.questions}`;
    bar.append(title);
    const label = svgElement("text", { x: middle, y: height + 14, "text-anchor": "middle" });
    label.textContent = day.day.slice(5);
    svg.append(bar, label);
  });
  return svg;
}

export async function loadStats() {
  const stats = await apiJson("/api/stats");
  $("stat-questions").textContent = stats.questions;
  $("stat-p50").textContent = stats.latency_p50_s === null ? "–" : `${stats.latency_p50_s.toFixed(1)} s`;
  $("stat-p95").textContent = stats.latency_p95_s === null ? "–" : `${stats.latency_p95_s.toFixed(1)} s`;
  $("chart").replaceChildren(chart(stats.questions_per_day));
  $("unanswered").replaceChildren(...stats.unanswered.map((entry) => el("li", `${localTime(entry.at)} · ${entry.question}`)));
  $("most-cited").replaceChildren(...stats.most_cited.map((entry) => el("li", `${entry.title} (${entry.citations})`)));
}
