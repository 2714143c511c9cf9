/* The console's behaviour: dialogs, diagrams (bpmn-js), Camunda forms (form-js), focus after htmx swaps.
   Everything runs from this file: the pages carry no inline script (see the Content-Security-Policy). */
(function () {
  'use strict';

  /* After every deferred script (this one runs first; bpmn-js and form-js come at the end of the page). */
  function onReady(callback) {
    if (document.readyState === 'complete') callback();
    else document.addEventListener('DOMContentLoaded', callback);
  }

  function firstField(container) {
    return container.querySelector('[aria-invalid="true"], .invalid input, input:not([type=hidden]), select, textarea, button');
  }

  /* A button with data-open-dialog opens that <dialog> as a modal (Esc closes it, focus stays in it). */
  function initDialogs(root) {
    root.querySelectorAll('[data-open-dialog]').forEach(function (button) {
      button.addEventListener('click', function () {
        var dialog = document.getElementById(button.dataset.openDialog);
        if (!dialog) return;
        dialog.showModal();
        var field = firstField(dialog);
        if (field) field.focus();
      });
    });
    root.querySelectorAll('[data-close-dialog]').forEach(function (button) {
      button.addEventListener('click', function () { button.closest('dialog').close(); });
    });
    root.querySelectorAll('dialog[data-open-on-load]').forEach(function (dialog) {
      dialog.showModal();
      var field = firstField(dialog);
      if (field) field.focus();
    });
  }

  /* A [data-diagram-url] element shows that BPMN file in bpmn-js's navigated viewer (pan with the mouse,
     zoom with Ctrl + wheel). What it marks, all optional:
       data-highlight="ElementId"                  the element in focus (class "highlight", badge "this task")
       data-markers='{"ElementId": "marker-incident"}'   a CSS class per element (see console.css)
       data-badges='{"ElementId": [{"text": "3", "kind": "active"}]}'   badges above an element
       data-element-url="/console/...?element={id}"     clicking an element opens that URL
       data-unplaced="list-id"     that list's hidden items [data-element-id] are shown for elements not drawn
     A [data-diagram-xml] element shows the BPMN text it holds instead of fetching a file. */
  function showUnplaced(el, registry) {
    var list = el.dataset.unplaced && document.getElementById(el.dataset.unplaced);
    if (!list) return;
    list.querySelectorAll('[data-element-id]').forEach(function (item) {
      if (!registry || !registry.get(item.dataset.elementId)) item.hidden = false;
    });
  }

  function diagramSource(el) {
    if (el.dataset.diagramXml !== undefined) return Promise.resolve(el.dataset.diagramXml);
    return fetch(el.dataset.diagramUrl, { credentials: 'same-origin' }).then(function (response) {
      if (!response.ok) throw new Error('HTTP ' + response.status);
      return response.text();
    });
  }

  function initDiagrams(root) {
    root.querySelectorAll('[data-diagram-url], [data-diagram-xml]').forEach(function (el) {
      var fallback = el.querySelector('.diagram-fallback');
      if (!window.BpmnJS) { if (fallback) fallback.textContent = 'The diagram viewer did not load.'; return; }
      var markers = el.dataset.markers ? JSON.parse(el.dataset.markers) : {};
      var badges = el.dataset.badges ? JSON.parse(el.dataset.badges) : {};
      if (el.dataset.highlight) {
        markers[el.dataset.highlight] = 'highlight';
        badges[el.dataset.highlight] = (badges[el.dataset.highlight] || []).concat([{ text: 'this task', kind: 'focus' }]);
      }
      diagramSource(el)
        .then(function (xml) {
          el.textContent = '';
          var viewer = new window.BpmnJS({ container: el });
          return viewer.importXML(xml).then(function () {
            var canvas = viewer.get('canvas');
            var registry = viewer.get('elementRegistry');
            var overlays = viewer.get('overlays');
            canvas.zoom('fit-viewport', 'auto');
            Object.keys(markers).forEach(function (id) {
              if (registry.get(id)) canvas.addMarker(id, markers[id]);
            });
            Object.keys(badges).forEach(function (id) {
              if (!registry.get(id)) return;
              badges[id].forEach(function (badge, index) {
                var span = document.createElement('span');
                span.className = 'diagram-badge badge-' + (badge.kind || 'info');
                span.textContent = badge.text;
                overlays.add(id, { position: { top: -14, left: index * 36 }, html: span });
              });
            });
            if (el.dataset.elementUrl) {
              var notFlowNodes = ['bpmn:Process', 'bpmn:Collaboration', 'bpmn:Participant', 'bpmn:Lane',
                                  'bpmn:SequenceFlow', 'bpmn:MessageFlow', 'bpmn:Association', 'label'];
              viewer.get('eventBus').on('element.click', function (event) {
                var element = event.element && (event.element.labelTarget || event.element);
                var id = element && element.id;
                if (id && notFlowNodes.indexOf(element.type) < 0) {
                  window.location.href = el.dataset.elementUrl.replace('{id}', encodeURIComponent(id));
                }
              });
            }
            showUnplaced(el, registry);
            el.dataset.diagramState = 'ready';
          });
        })
        .catch(function () {
          el.textContent = 'The diagram cannot be shown: the process file has no drawing, or it could not be read.';
          showUnplaced(el, null);
          el.dataset.diagramState = 'failed';
        });
    });
  }

  /* Leave out what form-js reports for fields left empty: the server refuses null for a typed field. */
  function clean(value) {
    if (Array.isArray(value)) return value.map(clean);
    if (value && typeof value === 'object') {
      var out = {};
      Object.keys(value).forEach(function (key) {
        var v = value[key];
        if (v === null || v === undefined || v === '') return;
        out[key] = clean(v);
      });
      return out;
    }
    return value;
  }

  /* A [data-formjs-schema] element renders that Camunda form with form-js; submitting the surrounding
     form checks it in the browser first, then posts its data as JSON in the hidden input. */
  function initForms(root) {
    root.querySelectorAll('[data-formjs-schema]').forEach(function (el) {
      if (!window.FormViewer) { el.textContent = 'The form viewer did not load.'; return; }
      var schema = JSON.parse(document.getElementById(el.dataset.formjsSchema).textContent);
      var data = JSON.parse(document.getElementById(el.dataset.formjsData).textContent) || {};
      var outer = el.closest('form');
      var input = document.getElementById(el.dataset.formjsInput);
      window.FormViewer.createForm({ container: el, schema: schema, data: data }).then(function (form) {
        el.dataset.formjsState = 'ready';
        outer.addEventListener('submit', function (event) {
          if (event.target !== outer) {  // form-js's own submit button: submit the page's form instead
            event.preventDefault();
            outer.requestSubmit();
            return;
          }
          var result = form.submit();
          if (result.errors && Object.keys(result.errors).length) {
            event.preventDefault();
            var invalid = el.querySelector('.fjs-has-errors input, .fjs-has-errors select, .fjs-has-errors textarea');
            if (invalid) invalid.focus();
            return;
          }
          input.value = JSON.stringify(clean(result.data));
        }, true);
      });
    });
  }

  /* A checkbox with data-select-all="NAME" ticks or clears every checkbox named NAME in its form. Delegated
     from the document, so lists swapped in by htmx need nothing more. */
  function selectAll(event) {
    var box = event.target;
    if (!box.matches || !box.matches('input[type=checkbox][data-select-all]') || !box.form) return;
    box.form.querySelectorAll('input[type=checkbox][name="' + box.dataset.selectAll + '"]').forEach(function (other) {
      other.checked = box.checked;
    });
  }

  function init(root) {
    initDialogs(root);
    initDiagrams(root);
    initForms(root);
  }

  onReady(function () {
    init(document);
    document.addEventListener('change', selectAll);
    /* After htmx swaps a row (claim, unclaim), keep the keyboard where it was: on the new row's button. */
    var swappedRow = null;
    document.body.addEventListener('htmx:beforeSwap', function (event) {
      var target = event.detail.target;
      swappedRow = target && target.tagName === 'TR' ? target.id : null;
    });
    document.body.addEventListener('htmx:afterSwap', function () {
      var row = swappedRow && document.getElementById(swappedRow);
      swappedRow = null;
      var next = row && (row.querySelector('.actions button') || row.querySelector('a'));
      if (next) next.focus();
    });
    document.body.addEventListener('htmx:load', function (event) {
      if (event.detail.elt === document.body) return;
      initDialogs(event.detail.elt);
      initDiagrams(event.detail.elt);  /* a swapped part may hold diagrams (the deploy page's check) */
    });
  });
})();
