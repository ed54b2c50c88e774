// The website's explorers: a slider swaps pictures drawn when the site was built.
document.querySelectorAll(".rnncourse-frames").forEach((box) => {
  const frames = JSON.parse(box.dataset.frames);
  const labels = JSON.parse(box.dataset.labels);
  const slider = box.querySelector("input");
  const readout = box.querySelector("output");
  const picture = box.querySelector("img");
  frames.forEach((src) => { new Image().src = src; }); // load them all once
  slider.addEventListener("input", () => {
    picture.src = frames[slider.value];
    readout.textContent = labels[slider.value];
  });
});
